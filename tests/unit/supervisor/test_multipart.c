/*
 * Unit tests for supervisor/multipart.c: boundaries from Content-Type,
 * well-formed bodies, and every malformed shape rejected with a reason.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/multipart.h"

static struct multipart mp;

static int
parse(const char *body, const char *boundary, const char **why)
{
	*why = NULL;
	return multipart_parse(body, strlen(body), boundary, &mp, why);
}

static void
assert_part(size_t i, const char *name, const char *filename, const char *type, const char *data)
{
	const struct multipart_part *p = &mp.parts[i];

	cr_assert_lt(i, mp.count);
	cr_assert(
	    multipart_part_is(p, name), "part %zu is named '%.*s'", i, (int)p->name_len, p->name);
	if (filename == NULL) {
		cr_assert_null(p->filename);
	} else {
		cr_assert_eq(p->filename_len, strlen(filename));
		cr_assert_eq(memcmp(p->filename, filename, p->filename_len), 0);
	}
	if (type == NULL) {
		cr_assert_null(p->content_type);
	} else {
		cr_assert_eq(p->content_type_len, strlen(type));
		cr_assert_eq(memcmp(p->content_type, type, p->content_type_len), 0);
	}
	cr_assert_eq(
	    p->len, strlen(data), "part %zu: %zu bytes, expected %zu", i, p->len, strlen(data));
	cr_assert_eq(memcmp(p->data, data, p->len), 0);
}

Test(multipart, boundary_from_content_type)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];
	const char *why;

	cr_assert_eq(
	    multipart_boundary("multipart/form-data; boundary=abc123", b, sizeof(b), &why), 0);
	cr_assert_str_eq(b, "abc123");
	cr_assert_eq(multipart_boundary("Multipart/Form-Data;charset=utf-8;BOUNDARY=\"a b:c\"", b,
			 sizeof(b), &why),
	    0);
	cr_assert_str_eq(b, "a b:c");
	cr_assert_eq(multipart_boundary(
			 " multipart/form-data ; boundary=----WebKit7MA4YWxk", b, sizeof(b), &why),
	    0);
	cr_assert_str_eq(b, "----WebKit7MA4YWxk");

	cr_assert_eq(multipart_boundary("application/json", b, sizeof(b), &why), -1);
	cr_assert_not_null(why);
	cr_assert_eq(multipart_boundary("multipart/form-data", b, sizeof(b), &why), -1);
	cr_assert_eq(multipart_boundary("multipart/form-data; boundary=", b, sizeof(b), &why), -1);
	cr_assert_eq(
	    multipart_boundary("multipart/form-data; boundary=\"unterminated", b, sizeof(b), &why),
	    -1);
	cr_assert_eq(multipart_boundary(
			 "multipart/form-data; boundary=\"ends in space \"", b, sizeof(b), &why),
	    -1);
	cr_assert_eq(
	    multipart_boundary("multipart/form-data; boundary=a; boundary=b", b, sizeof(b), &why),
	    -1);
	cr_assert_eq(multipart_boundary(
			 "multipart/form-data; boundary="
			 "12345678901234567890123456789012345678901234567890123456789012345678901",
			 b, sizeof(b), &why),
	    -1, "71 characters is one too many");
	cr_assert_eq(
	    multipart_boundary("multipart/form-data; boundary=\"a\\\"b\"", b, sizeof(b), &why), -1,
	    "a quote is not a bchar");
}

Test(multipart, good_body)
{
	const char *why;
	static const char body[] =
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"metadata\"\r\n"
	    "Content-Type: application/json\r\n"
	    "\r\n"
	    "{\"main_module\":\"index.js\"}\r\n"
	    "--XyZ\r\n"
	    "content-disposition: form-data; name=index.js; filename=\"index.js\"\r\n"
	    "Content-Type: application/javascript+module\r\n"
	    "X-Other: ignored\r\n"
	    "\r\n"
	    "export default {\r\n  fetch() {}\r\n};\r\n"
	    "--XyZ--\r\n";

	cr_assert_eq(parse(body, "XyZ", &why), 0, "%s", why);
	cr_assert_eq(mp.count, 2);
	assert_part(0, "metadata", NULL, "application/json", "{\"main_module\":\"index.js\"}");
	assert_part(1, "index.js", "index.js", "application/javascript+module",
	    "export default {\r\n  fetch() {}\r\n};");
	cr_assert_eq(multipart_find(&mp, "index.js"), &mp.parts[1]);
	cr_assert_null(multipart_find(&mp, "index"));
	cr_assert_null(multipart_find(&mp, "index.jsx"));
}

Test(multipart, empty_and_binary_parts)
{
	const char *why;
	static const char body[] = "--b\r\n"
				   "Content-Disposition: form-data; name=\"empty\"\r\n"
				   "\r\n"
				   "\r\n"
				   "--b\r\n"
				   "Content-Disposition: form-data; name=\"nul\"\r\n"
				   "\r\n"
				   "a\0b\r\n"
				   "--b--";

	cr_assert_eq(multipart_parse(body, sizeof(body) - 1, "b", &mp, &why), 0, "%s", why);
	cr_assert_eq(mp.count, 2);
	cr_assert_eq(mp.parts[0].len, 0);
	cr_assert_eq(mp.parts[1].len, 3);
	cr_assert_eq(memcmp(mp.parts[1].data, "a\0b", 3), 0);
}

Test(multipart, preamble_epilogue_and_padding)
{
	const char *why;
	static const char body[] = "This is the preamble.\r\n--b is not a delimiter\r\n"
				   "--b  \t\r\n"
				   "Content-Disposition: form-data; name=\"a\"\r\n"
				   "\r\n"
				   "one\r\n"
				   "--b--\r\n"
				   "epilogue with --b\r\n--b\r\nContent-Disposition: nothing\r\n";

	cr_assert_eq(parse(body, "b", &why), 0, "%s", why);
	cr_assert_eq(mp.count, 1);
	assert_part(0, "a", NULL, NULL, "one");
}

Test(multipart, boundary_inside_data)
{
	const char *why;
	static const char body[] = "--frontier\r\n"
				   "Content-Disposition: form-data; name=\"s\"\r\n"
				   "\r\n"
				   "x--frontier\r\n"
				   "--frontierX\r\n"
				   "--frontier-- is only the end at a line start\r\n"
				   "tail\r\n"
				   "--frontier--\r\n";

	cr_assert_eq(parse(body, "frontier", &why), 0, "%s", why);
	/* "--frontier--" at a line start closes even when text follows on the line. */
	cr_assert_eq(mp.count, 1);
	assert_part(0, "s", NULL, NULL, "x--frontier\r\n--frontierX");
}

Test(multipart, missing_closing_boundary)
{
	const char *why;

	cr_assert_eq(
	    parse("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc", "b", &why), -1);
	cr_assert_str_eq(why, "missing closing boundary");
	cr_assert_eq(
	    parse("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--b", "b", &why),
	    -1, "a delimiter needs CRLF or -- after it");
	cr_assert_eq(parse("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n", "b", &why), -1);
	cr_assert_str_eq(why, "unterminated part headers");
	cr_assert_eq(parse("no delimiter at all", "b", &why), -1);
	cr_assert_str_eq(why, "no boundary delimiter");
	cr_assert_eq(parse("", "b", &why), -1);
}

Test(multipart, part_without_name)
{
	const char *why;

	cr_assert_eq(parse("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "b", &why), -1);
	cr_assert_str_eq(why, "part has no name");
	cr_assert_eq(parse("--b\r\n\r\nx\r\n--b--", "b", &why), -1);
	cr_assert_str_eq(why, "part has no name");
	cr_assert_eq(
	    parse("--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--b--", "b", &why),
	    -1);
	cr_assert_eq(
	    parse("--b\r\nContent-Disposition: form-data; filename=\"f\"\r\n\r\nx\r\n--b--", "b",
		&why),
	    -1);
	cr_assert_eq(parse("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
			 "b", &why),
	    -1);
	cr_assert_str_eq(why, "part disposition is not form-data");
}

Test(multipart, malformed_headers)
{
	static const char *const bodies[] = {
		"--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"c\"\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data name=a\r\n\r\nx\r\n--b--",
		"--b\r\nNo colon here\r\n\r\nx\r\n--b--",
		"--b\r\n: empty name\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=a\r\n"
		"Content-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=a\r\nContent-Type: a\r\n"
		"Content-Type: b\r\n\r\nx\r\n--b--",
	};
	const char *why;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		why = NULL;
		cr_assert_eq(parse(bodies[i], "b", &why), -1, "body %zu accepted", i);
		cr_assert_not_null(why, "body %zu has no reason", i);
	}
}

Test(multipart, too_many_parts)
{
	static const char part[] = "--b\r\nContent-Disposition: form-data; name=p\r\n\r\nx\r\n";
	size_t n = MULTIPART_PARTS_MAX + 1;
	char *body = malloc(n * (sizeof(part) - 1) + 8);
	const char *why;
	size_t len = 0;

	cr_assert_not_null(body);
	for (size_t i = 0; i < n; i++) {
		memcpy(body + len, part, sizeof(part) - 1);
		len += sizeof(part) - 1;
	}
	memcpy(body + len, "--b--", 5);
	cr_assert_eq(multipart_parse(body, len + 5, "b", &mp, &why), -1);
	cr_assert_str_eq(why, "too many parts");
	/* Exactly the maximum is fine. */
	memcpy(body + len - (sizeof(part) - 1), "--b--", 5);
	cr_assert_eq(multipart_parse(body, len - (sizeof(part) - 1) + 5, "b", &mp, &why), 0);
	cr_assert_eq(mp.count, MULTIPART_PARTS_MAX);
	free(body);
}

Test(multipart, header_block_too_large)
{
	size_t pad = MULTIPART_HEADER_BYTES_MAX + 10;
	char *body = malloc(pad + 200);
	const char *why;
	int n;

	cr_assert_not_null(body);
	n = snprintf(body, 200, "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
	memset(body + n, 'p', pad);
	memcpy(body + n + pad, "\r\n\r\nx\r\n--b--", 12);
	cr_assert_eq(multipart_parse(body, (size_t)n + pad + 12, "b", &mp, &why), -1);
	cr_assert_str_eq(why, "part headers too large");
	free(body);
}

Test(multipart, exact_bounds_not_overread)
{
	/* Copy into an exactly sized heap buffer so ASan catches any overread. */
	static const char *const bodies[] = {
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b-",
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--",
		"--b\r\nContent-Disposition: form-data; name=\"a",
		"--b\r\nContent-Disposition: form-data; name=a\r",
		"--b",
		"--b-",
		"--b--",
		"\r\n--b\r",
	};
	const char *why;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		size_t len = strlen(bodies[i]);
		char *copy = malloc(len);

		cr_assert_not_null(copy);
		memcpy(copy, bodies[i], len);
		(void)multipart_parse(copy, len, "b", &mp, &why);
		free(copy);
	}
	cr_assert_eq(multipart_parse("--b--", 5, "b", &mp, &why), 0, "an empty form is valid");
	cr_assert_eq(mp.count, 0);
}

Test(multipart, bad_boundary_argument)
{
	const char *why;

	cr_assert_eq(multipart_parse("--\r\n", 4, "", &mp, &why), -1);
	cr_assert_eq(multipart_parse("x", 1,
			 "12345678901234567890123456789012345678901234567890123456789012345678901",
			 &mp, &why),
	    -1);
}
