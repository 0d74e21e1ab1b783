/*
 * base64: standard-alphabet encoding and the forgiving decode of the HTML
 * standard, for atob/btoa (sandbox/native_url.c).  Runs in sandboxes.
 */
#include <stdbool.h>
#include <stdint.h>

#include "sandbox/base64.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	if (n > (SIZE_MAX - 3) / 4 * 3)
		return 0;
	return (n + 2) / 3 * 4;
}

void
base64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = base64_alphabet[v >> 18];
		*out++ = base64_alphabet[v >> 12 & 63];
		*out++ = base64_alphabet[v >> 6 & 63];
		*out++ = base64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*out++ = base64_alphabet[v >> 18];
		*out++ = base64_alphabet[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*out++ = base64_alphabet[v >> 18];
		*out++ = base64_alphabet[v >> 12 & 63];
		*out++ = base64_alphabet[v >> 6 & 63];
		*out++ = '=';
	}
}

static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool
base64_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

int
base64_decode_forgiving(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	size_t count = 0, pad = 0, o = 0;
	uint32_t bits = 0;
	int nbits = 0;

	/* First pass: the length without whitespace, and where the padding is. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (base64_is_space(c))
			continue;
		if (c == '=')
			pad++;
		else if (pad > 0 || base64_value(c) < 0)
			return -1; /* data after '=', or outside the alphabet */
		count++;
	}
	if (pad > 0) {
		/* '=' is allowed only as one or two final characters of a multiple of four. */
		if (count % 4 != 0 || pad > 2)
			return -1;
		count -= pad;
	}
	if (count % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = base64_value((unsigned char)in[i]);

		if (v < 0)
			continue;
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (unsigned char)(bits >> nbits);
			bits &= (1u << nbits) - 1;
		}
	}
	*out_len = o;
	return 0;
}
