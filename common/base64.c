/*
 * base64: RFC 4648 encoding and the flag-driven decoder of base64.h.  Pure
 * functions; every process links them.
 */
#include "common/base64.h"

#include <stdbool.h>
#include <stdint.h>

static const char base64_standard[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
base64_encoded_len(size_t n)
{
	if (n > (SIZE_MAX - 3) / 4 * 3)
		return 0;
	return (n + 2) / 3 * 4;
}

size_t
base64_encode_as(const unsigned char *in, size_t n, unsigned flags, char *out)
{
	const char *alphabet = (flags & BASE64_URL) ? base64_url : base64_standard;
	size_t i, o = 0, left;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if ((left = n - i) == 0)
		return o;
	/* One or two bytes remain: two or three characters, then the padding. */
	v = (uint32_t)in[i] << 16 | (left == 2 ? (uint32_t)in[i + 1] << 8 : 0);
	out[o++] = alphabet[v >> 18];
	out[o++] = alphabet[v >> 12 & 63];
	if (left == 2)
		out[o++] = alphabet[v >> 6 & 63];
	if (!(flags & BASE64_NO_PAD))
		while (o % 4 != 0)
			out[o++] = '=';
	return o;
}

void
base64_encode(const unsigned char *in, size_t n, char *out)
{
	(void)base64_encode_as(in, n, 0, out);
}

size_t
base64_decoded_max(size_t n)
{
	return n / 4 * 3 + 2;
}

/* The value of c in the alphabet `flags` picks, or -1. */
static int
base64_value(unsigned char c, unsigned flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == ((flags & BASE64_URL) ? '-' : '+'))
		return 62;
	if (c == ((flags & BASE64_URL) ? '_' : '/'))
		return 63;
	return -1;
}

static bool
base64_is_skipped(unsigned char c, unsigned flags)
{
	return (flags & BASE64_SKIP_SPACE) &&
	    (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r');
}

/*
 * The first pass: every character allowed where it stands.  Sets the
 * count of significant characters, padding included, and of the padding.
 */
static int
base64_scan(const char *in, size_t n, unsigned flags, size_t *count, size_t *pad)
{
	*count = *pad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (base64_is_skipped(c, flags))
			continue;
		if (c == '=')
			(*pad)++;
		else if (*pad > 0 || base64_value(c, flags) < 0)
			return -1; /* data after '=', or outside the alphabet */
		(*count)++;
	}
	if (*pad > 2 || (*count - *pad) % 4 == 1)
		return -1;
	if ((flags & BASE64_EXACT_PAD) && *pad > 0 && *count % 4 != 0)
		return -1;
	return 0;
}

int
base64_decode(const char *in, size_t n, unsigned flags, unsigned char *out, size_t *out_len)
{
	size_t count, pad, o = 0;
	uint32_t bits = 0;
	int nbits = 0, v;

	if (base64_scan(in, n, flags, &count, &pad) == -1)
		return -1;
	/* The scan vouched for every character: skip all but the alphabet's. */
	for (size_t i = 0; i < n; i++) {
		if ((v = base64_value((unsigned char)in[i], flags)) < 0)
			continue;
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (unsigned char)(bits >> nbits);
			bits &= (1u << nbits) - 1;
		}
	}
	if ((flags & BASE64_ZERO_BITS) && bits != 0)
		return -1;
	*out_len = o;
	return 0;
}
