/*
 * test_hex: common/hex.c, hex digits read (percent escapes, IPv4 and IPv6
 * hosts) and written (ids and tokens).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "common/hex.h"

Test(hex, every_byte_has_its_value_or_none)
{
	for (int c = -1; c < 256; c++) {
		int want = -1;

		if (c >= '0' && c <= '9')
			want = c - '0';
		else if (c >= 'a' && c <= 'f')
			want = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			want = c - 'A' + 10;
		cr_expect_eq(hex_value(c), want, "byte %d", c);
	}
}

Test(hex, encodes_lowercase_and_terminates)
{
	char out[9];

	memset(out, '#', sizeof(out));
	hex_encode("\x00\x9f\xa0\xff", 4, out);
	cr_expect_str_eq(out, "009fa0ff");
	hex_encode("", 0, out);
	cr_expect_str_eq(out, "");
}
