/*
 * admin_text: the admin API's text helpers in the supervisor: UTF-8 checks,
 * JSON strings from untrusted bytes, times, percent-decoding.
 */
#include "supervisor/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
admin_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool
admin_utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = admin_utf8_seq(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

json_t *
admin_json_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *j;
	char *copy;
	size_t i = 0, n;

	if (admin_utf8_is_valid(s, len))
		return json_stringn(s, len);
	if ((copy = malloc(len)) == NULL)
		return NULL;
	while (i < len) {
		if ((n = admin_utf8_seq(p + i, len - i)) == 0) {
			copy[i++] = '?';
			continue;
		}
		memcpy(copy + i, s + i, n);
		i += n;
	}
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

json_t *
admin_json_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char text[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_string("1970-01-01T00:00:00Z");
	return json_string(text);
}

static int
admin_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
admin_percent_decode(const char *in, size_t len, bool plus_is_space, char *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			if ((hi = admin_hex_digit(in[i + 1])) < 0 ||
			    (lo = admin_hex_digit(in[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (n == max)
			return -2;
		out[n++] = c;
	}
	return (ssize_t)n;
}

void
admin_http_date(int64_t ms, char *out, size_t len)
{
	time_t tt = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 GMT");
}

bool
admin_media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}
