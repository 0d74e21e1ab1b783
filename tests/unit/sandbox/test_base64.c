/*
 * Unit tests of sandbox/base64.c: every case of the WPT file base64.json
 * (forgiving base64, what atob accepts) and encode/decode round trips.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/base64.h"

#define WPT EDGED_WPT_DIR "/"

Test(base64, every_wpt_case_passes)
{
	json_error_t err;
	json_t *all = json_load_file(WPT "base64.json", JSON_ALLOW_NUL, &err), *t;
	size_t i;
	int cases = 0, passed = 0;

	cr_assert_not_null(all, "base64.json: %s", err.text);
	json_array_foreach (all, i, t) {
		json_t *input = json_array_get(t, 0), *expected = json_array_get(t, 1), *b;
		size_t n = json_string_length(input), len = 0, k;
		unsigned char *out = malloc(n / 4 * 3 + 3);
		int rc = base64_decode_forgiving(json_string_value(input), n, out, &len);
		bool ok;

		cases++;
		if (json_is_null(expected)) {
			ok = rc == -1;
		} else {
			ok = rc == 0 && len == json_array_size(expected);
			json_array_foreach (expected, k, b)
				if (ok && out[k] != json_integer_value(b))
					ok = false;
		}
		cr_expect(
		    ok, "case %zu '%s': rc %d, %zu bytes", i, json_string_value(input), rc, len);
		passed += ok;
		free(out);
	}
	fprintf(stderr, "base64.json: %d of %d cases pass\n", passed, cases);
	cr_expect_eq(cases, 80);
	cr_assert_eq(passed, cases);
	json_decref(all);
}

Test(base64, encodes_with_padding_and_round_trips_every_length)
{
	unsigned char in[64], back[64];
	char out[96];
	size_t len;

	base64_encode((const unsigned char *)"hi!", 3, out);
	cr_expect_eq(memcmp(out, "aGkh", 4), 0);
	base64_encode((const unsigned char *)"h", 1, out);
	cr_expect_eq(memcmp(out, "aA==", 4), 0);
	cr_expect_eq(base64_encoded_len(0), 0);
	cr_expect_eq(base64_encoded_len(4), 8);
	for (size_t n = 0; n < sizeof(in); n++) {
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)(i * 37 + n);
		base64_encode(in, n, out);
		cr_assert_eq(base64_decode_forgiving(out, base64_encoded_len(n), back, &len), 0);
		cr_assert_eq(len, n);
		cr_assert_eq(memcmp(in, back, n), 0, "length %zu", n);
	}
}

Test(base64, whitespace_is_ignored_but_bad_padding_is_not)
{
	unsigned char out[16];
	size_t len;

	cr_expect_eq(base64_decode_forgiving(" aG\tk\nh\f\r", 9, out, &len), 0);
	cr_expect_eq(len, 3);
	cr_expect_eq(memcmp(out, "hi!", 3), 0);
	cr_expect_eq(base64_decode_forgiving("aGk=h", 5, out, &len), -1);
	cr_expect_eq(base64_decode_forgiving("aG\v=", 4, out, &len), -1);
	cr_expect_eq(base64_decode_forgiving("aGk-", 4, out, &len), -1);
}
