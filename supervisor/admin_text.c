/*
 * admin_text: the admin API's text helpers in the supervisor: JSON strings
 * from untrusted bytes, times, percent-decoding, media types.
 */
#include "supervisor/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/hex.h"
#include "common/utf8.h"

json_t *
admin_json_text(const char *s, size_t len)
{
	json_t *j;
	char *copy;

	if (utf8_is_valid(s, len))
		return json_stringn(s, len);
	if ((copy = malloc(len)) == NULL)
		return NULL;
	memcpy(copy, s, len);
	utf8_scrub(copy, len);
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
			if ((hi = hex_value(in[i + 1])) < 0 || (lo = hex_value(in[i + 2])) < 0)
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
