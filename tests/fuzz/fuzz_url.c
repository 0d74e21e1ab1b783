/*
 * libFuzzer harness for sandbox/url.c and sandbox/url_host.c.  The input is
 * a base URL, a newline, a relative input, a newline, a setter number and
 * a value: a parse, a re-parse of the result and one setter per run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Serialization must be a fixed point: the href parses back to the same href. */
static void
fuzz_check_idempotent(const struct url *u)
{
	struct url_buf a = { 0 }, b = { 0 };
	struct url again;

	url_init_record(&again);
	if (url_href(u, &a) == -1)
		goto out;
	if (url_parse(&again, a.p, a.len, NULL) == -1 || url_href(&again, &b) == -1)
		abort();
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	for (size_t i = 0; i < a.len; i++)
		if ((unsigned char)a.p[i] >= 0x80 || a.p[i] == '\0')
			abort(); /* an href is printable ASCII */
out:
	url_release(&again);
	url_buf_release(&a);
	url_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl1, *nl2;
	struct url base, u;
	struct url_buf text = { 0 };

	url_init_record(&base);
	url_init_record(&u);
	nl1 = memchr(s, '\n', size);
	if (nl1 == NULL) {
		if (url_parse(&u, s, size, NULL) == 0)
			fuzz_check_idempotent(&u);
		goto out;
	}
	nl2 = memchr(nl1 + 1, '\n', size - (size_t)(nl1 + 1 - s));
	if (url_parse(&base, s, (size_t)(nl1 - s), NULL) == -1)
		goto out;
	if (url_parse(&u, nl1 + 1,
		(nl2 != NULL ? (size_t)(nl2 - nl1 - 1) : size - (size_t)(nl1 + 1 - s)),
		&base) == -1)
		goto out;
	fuzz_check_idempotent(&u);
	if (nl2 != NULL && nl2 + 1 < s + size) {
		enum url_part part = (enum url_part)((unsigned char)nl2[1] % (URL_HASH + 1));
		size_t off = (size_t)(nl2 + 2 - s);

		if (url_set(&u, part, s + off, size - off) == 0)
			fuzz_check_idempotent(&u);
	}
	if (url_origin(&u, &text) == -1)
		goto out;
out:
	url_buf_release(&text);
	url_release(&base);
	url_release(&u);
	return 0;
}
