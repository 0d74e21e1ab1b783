/*
 * test_base64: common/base64.c, the codec of atob/btoa, KV cursors and bulk
 * values and D1 blob parameters: both alphabets, padding on and off, and
 * what each decode flag lets through.  (The WHATWG forgiving decode has its
 * own suite, tests/unit/sandbox/test_base64.c.)
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/base64.h"

#define LENIENT 0u /* D1: padding optional and uncounted, stray bits dropped */
#define STRICT (BASE64_EXACT_PAD | BASE64_ZERO_BITS)     /* KV */
#define FORGIVING (BASE64_SKIP_SPACE | BASE64_EXACT_PAD) /* atob */

struct decode_case {
	const char *in;
	unsigned flags;
	const char *want; /* NULL: refused */
	size_t want_len;
};

static const struct decode_case decode_cases[] = {
	{ "", LENIENT, "", 0 },
	{ "", STRICT, "", 0 },
	{ "aGk=", LENIENT, "hi", 2 },
	{ "aGk=", STRICT, "hi", 2 },
	{ "aGk", STRICT, "hi", 2 },
	{ "aGk==", LENIENT, "hi", 2 },
	{ "aGk==", STRICT, NULL, 0 },
	{ "aGk==", FORGIVING, NULL, 0 },
	{ "=", LENIENT, "", 0 },
	{ "=", STRICT, NULL, 0 },
	{ "aGl=", LENIENT, "hi", 2 },
	{ "aGl=", FORGIVING, "hi", 2 },
	{ "aGl=", STRICT, NULL, 0 },
	{ "a", LENIENT, NULL, 0 },
	{ "aGkha", LENIENT, NULL, 0 },
	{ "a===", LENIENT, NULL, 0 },
	{ "aG=k", LENIENT, NULL, 0 },
	{ "aG=k", FORGIVING, NULL, 0 },
	{ " aGk=", LENIENT, NULL, 0 },
	{ " aG\tk\n=\r", FORGIVING, "hi", 2 },
	{ "aG\vk", FORGIVING, NULL, 0 },
	{ "+/8=", LENIENT, "\xfb\xff", 2 },
	{ "+/8=", BASE64_URL, NULL, 0 },
	{ "-_8", BASE64_URL | STRICT, "\xfb\xff", 2 },
	{ "-_8", LENIENT, NULL, 0 },
	{ "-_9", BASE64_URL | STRICT, NULL, 0 },
};

Test(base64, each_flag_admits_what_its_callers_need)
{
	unsigned char out[16];
	size_t len;

	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct decode_case *c = &decode_cases[i];
		int rc = base64_decode(c->in, strlen(c->in), c->flags, out, &len);

		if (c->want == NULL) {
			cr_expect_eq(rc, -1, "'%s' flags %#x was accepted", c->in, c->flags);
			continue;
		}
		cr_expect_eq(rc, 0, "'%s' flags %#x was refused", c->in, c->flags);
		if (rc == 0) {
			cr_expect_eq(len, c->want_len, "'%s' flags %#x", c->in, c->flags);
			cr_expect_eq(memcmp(out, c->want, c->want_len), 0, "'%s'", c->in);
		}
	}
}

Test(base64, a_nul_byte_is_not_in_any_alphabet)
{
	unsigned char out[8];
	size_t len;

	cr_expect_eq(base64_decode("aG\0k", 4, LENIENT, out, &len), -1);
	cr_expect_eq(base64_decode("aG\0k", 4, BASE64_URL | STRICT, out, &len), -1);
}

Test(base64, encodes_both_alphabets_with_and_without_padding)
{
	char out[16];

	cr_expect_eq(base64_encode_as((const unsigned char *)"\xfb\xff", 2, 0, out), 4);
	cr_expect_eq(memcmp(out, "+/8=", 4), 0);
	cr_expect_eq(
	    base64_encode_as((const unsigned char *)"\xfb\xff", 2, BASE64_URL | BASE64_NO_PAD, out),
	    3);
	cr_expect_eq(memcmp(out, "-_8", 3), 0);
	cr_expect_eq(base64_encode_as((const unsigned char *)"h", 1, BASE64_NO_PAD, out), 2);
	cr_expect_eq(memcmp(out, "aA", 2), 0);
	cr_expect_eq(base64_encode_as((const unsigned char *)"", 0, 0, out), 0);
	cr_expect_eq(base64_encoded_len(1), 4);
	cr_expect_eq(base64_encoded_len(SIZE_MAX), 0, "an overflowing length is not 0");
}

Test(base64, every_length_round_trips_within_the_stated_room)
{
	static const unsigned flags[] = { 0, BASE64_NO_PAD, BASE64_URL,
		BASE64_URL | BASE64_NO_PAD };
	unsigned char in[100], back[100];
	char text[140];
	size_t n, len, tlen;

	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		for (n = 0; n < sizeof(in); n++) {
			for (size_t i = 0; i < n; i++)
				in[i] = (unsigned char)(i * 97 + n * 13 + f);
			tlen = base64_encode_as(in, n, flags[f], text);
			cr_assert_leq(tlen, base64_encoded_len(n));
			cr_assert_leq(n, base64_decoded_max(tlen), "length %zu", n);
			cr_assert_eq(
			    base64_decode(text, tlen, (flags[f] & BASE64_URL) | STRICT, back, &len),
			    0, "length %zu flags %#x", n, flags[f]);
			cr_assert_eq(len, n);
			cr_assert_eq(memcmp(in, back, n), 0);
		}
	}
}
