/*
 * End to end: the Fetch API surface through the real HTTP path — request
 * bodies parsed by request.formData(), cloned request bodies, and response
 * headers such as several Set-Cookie fields reaching the client intact.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	e = edged_start(NULL);
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(fetch_api, .init = setup, .fini = teardown, .timeout = 120);

#define MODULE(body) "var __worker = { default: { fetch: " body " } };"

/* Size of the file part: larger than one IPC body chunk, so the body arrives in pieces. */
#define FILE_SIZE (300u * 1024u)

/* Appends len bytes to buf at *at (buf is big enough by construction). */
static void
put(char *buf, size_t *at, const void *p, size_t len)
{
	memcpy(buf + *at, p, len);
	*at += len;
}

/* How many header lines of `block` are named `name` (case-insensitive). */
static int
count_header_lines(const char *block, const char *name)
{
	size_t n = strlen(name);
	const char *line = block;
	int count = 0;

	while (line != NULL && *line != '\0') {
		if (strncasecmp(line, name, n) == 0 && line[n] == ':')
			count++;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return count;
}

Test(fetch_api, multipart_post_is_read_with_form_data)
{
	static const char head[] =
	    "--XbOuNdArY\r\n"
	    "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
	    "h\xc3\xa9llo world\r\n"
	    "--XbOuNdArY\r\n"
	    "Content-Disposition: form-data; name=\"upload\"; filename=\"photo.bin\"\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n";
	static const char tail[] = "\r\n--XbOuNdArY--\r\n";
	size_t len = 0, cap = sizeof(head) + FILE_SIZE + sizeof(tail);
	char *body = malloc(cap);
	struct response r;

	cr_assert_not_null(body);
	put(body, &len, head, sizeof(head) - 1);
	/* Bytes that look like line ends and boundary dashes must stay part of the file. */
	for (size_t i = 0; i < FILE_SIZE; i++)
		body[len + i] = "\r\n-\0X\xff"[i % 6];
	len += FILE_SIZE;
	put(body, &len, tail, sizeof(tail) - 1);

	deploy(e, "acme", "forms", "forms.test",
	    MODULE("function (req) {"
		   "  return req.formData().then(function (fd) {"
		   "    var f = fd.get('upload');"
		   "    return new Response(fd.get('title') + '|' + f.name + '|' + f.size + '|' +"
		   "      f.type + '|' + (f instanceof File) + '|' + req.bodyUsed);"
		   "  });"
		   "}"),
	    NULL);
	r = http_do("POST", e->public_addr, "/upload", "forms.test", NULL,
	    "multipart/form-data; boundary=XbOuNdArY", body, len);
	cr_expect_eq(r.status, 200, "status %ld: %s", r.status, r.body);
	cr_expect_str_eq(
	    r.body, "h\xc3\xa9llo world|photo.bin|307200|application/octet-stream|true|true");
	response_free(&r);

	/* A body that is not form data is a rejected promise: a 500 for the client. */
	r = http_do("POST", e->public_addr, "/upload", "forms.test", NULL, "text/plain", "a=1", 3);
	cr_expect_eq(r.status, 500);
	response_free(&r);
	free(body);
}

Test(fetch_api, urlencoded_post_and_a_cloned_request_body)
{
	static const char form[] = "name=J%C3%BCrgen+M&tag=a&tag=b%26c";
	struct response r;

	deploy(e, "acme", "urlenc", "urlenc.test",
	    MODULE("function (req) {"
		   "  var copy = req.clone();"
		   "  return Promise.all([req.formData(), copy.text()]).then(function (v) {"
		   "    return Response.json({ name: v[0].get('name'), tags: v[0].getAll('tag'),"
		   "      raw: v[1].length });"
		   "  });"
		   "}"),
	    NULL);
	r = http_do("POST", e->public_addr, "/", "urlenc.test", NULL,
	    "application/x-www-form-urlencoded", form, sizeof(form) - 1);
	cr_expect_eq(r.status, 200, "status %ld: %s", r.status, r.body);
	cr_expect_str_eq(
	    r.body, "{\"name\":\"J\xc3\xbcrgen M\",\"tags\":[\"a\",\"b&c\"],\"raw\":34}");
	response_free(&r);
}

Test(fetch_api, two_set_cookie_headers_arrive_as_two_lines)
{
	struct response r;
	char *ct;

	deploy(e, "acme", "cookies", "cookies.test",
	    MODULE("function (req) {"
		   "  var h = new Headers({ 'Content-Type': 'text/plain' });"
		   "  h.append('Set-Cookie', 'a=1; Path=/; HttpOnly');"
		   "  h.append('Set-Cookie', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT');"
		   "  h.append('X-Multi', 'one');"
		   "  h.append('X-Multi', 'two');"
		   "  return new Response('cookies', { headers: h });"
		   "}"),
	    NULL);
	r = http_do("GET", e->public_addr, "/", "cookies.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "cookies");
	cr_expect_eq(count_header_lines(r.headers, "set-cookie"), 2, "headers:\n%s", r.headers);
	cr_expect(strcasestr(r.headers, "set-cookie: a=1; Path=/; HttpOnly\r\n") != NULL,
	    "headers:\n%s", r.headers);
	cr_expect(strcasestr(r.headers,
		      "set-cookie: b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT\r\n") != NULL,
	    "headers:\n%s", r.headers);
	cr_expect_eq(count_header_lines(r.headers, "x-multi"), 1, "headers:\n%s", r.headers);
	cr_expect(
	    strcasestr(r.headers, "x-multi: one, two\r\n") != NULL, "headers:\n%s", r.headers);
	ct = response_header(&r, "content-type");
	cr_expect(ct != NULL && strcmp(ct, "text/plain") == 0, "content-type %s", ct);
	free(ct);
	response_free(&r);
}

Test(fetch_api, form_data_response_and_error_response)
{
	struct response r;
	char *ct;

	deploy(e, "acme", "fdresp", "fdresp.test",
	    MODULE("function (req) {"
		   "  if (req.url.indexOf('/error') !== -1) return Response.error();"
		   "  var fd = new FormData();"
		   "  fd.append('k', 'v');"
		   "  return new Response(fd);"
		   "}"),
	    NULL);
	r = http_do("GET", e->public_addr, "/", "fdresp.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	ct = response_header(&r, "content-type");
	cr_assert_not_null(ct);
	cr_expect(strncmp(ct, "multipart/form-data; boundary=", 30) == 0, "content-type %s", ct);
	cr_expect(strstr(r.body, "Content-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n") != NULL,
	    "body %s", r.body);
	cr_expect(
	    strstr(r.body, ct + 30) != NULL, "the body uses the boundary of its content-type");
	free(ct);
	response_free(&r);

	/* Response.error() is not something a Worker can answer with: an exception, 500. */
	r = http_do("GET", e->public_addr, "/error", "fdresp.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 500);
	response_free(&r);
}
