/*
 * test_utf8: common/utf8.c, the UTF-8 validator every process shares: what
 * is well formed, how long an ill-formed subpart is, and the in-place repair
 * of messages.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "common/utf8.h"

struct seq_case {
	const char *bytes;
	size_t len;
	size_t want; /* the sequence's length, 0: ill-formed */
	uint32_t cp; /* when well formed */
	size_t bad;  /* when not: the maximal subpart */
};

static const struct seq_case seq_cases[] = {
	{ "A", 1, 1, 0x41, 0 }, { "\xc2\xa9", 2, 2, 0xa9, 0 }, { "\xe2\x82\xac", 3, 3, 0x20ac, 0 },
	{ "\xf0\x9f\x98\x80", 4, 4, 0x1f600, 0 }, { "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff, 0 },
	{ "\x80", 1, 0, 0, 1 },             /* a stray continuation */
	{ "\xc0\x80", 2, 0, 0, 1 },         /* overlong NUL */
	{ "\xe0\x80\x80", 3, 0, 0, 1 },     /* overlong */
	{ "\xed\xa0\x80", 3, 0, 0, 1 },     /* a surrogate */
	{ "\xf4\x90\x80\x80", 4, 0, 0, 1 }, /* past U+10FFFF */
	{ "\xf5\x80\x80\x80", 4, 0, 0, 1 }, /* no such lead byte */
	{ "\xe2\x82", 2, 0, 0, 2 },         /* cut short */
	{ "\xe2\x82\x41", 3, 0, 0, 2 },     /* broken off */
	{ "\xf0\x9f\x98", 3, 0, 0, 3 },     /* cut short */
};

Test(utf8, sequences_and_their_ill_formed_subparts)
{
	for (size_t i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		const struct seq_case *c = &seq_cases[i];
		uint32_t cp = 0;
		size_t bad = 0;
		size_t got = utf8_sequence((const uint8_t *)c->bytes, c->len, &cp, &bad);

		cr_expect_eq(got, c->want, "case %zu: length %zu", i, got);
		if (c->want > 0)
			cr_expect_eq(cp, c->cp, "case %zu: U+%04X", i, cp);
		else
			cr_expect_eq(bad, c->bad, "case %zu: subpart of %zu", i, bad);
		cr_expect_eq(utf8_is_valid(c->bytes, c->len), c->want == c->len, "case %zu", i);
	}
}

Test(utf8, scrub_replaces_each_bad_byte_and_keeps_the_length)
{
	char text[] = "a\xff"
		      "b\xe2\x82"
		      "\xc3\xa9";

	cr_expect(!utf8_is_valid(text, strlen(text)));
	utf8_scrub(text, strlen(text));
	cr_expect_str_eq(text, "a?b??\xc3\xa9");
	cr_expect(utf8_is_valid(text, strlen(text)));
}
