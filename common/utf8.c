/*
 * utf8: the one UTF-8 validator every process uses (utf8.h).  Pure
 * functions.
 */
#include "common/utf8.h"

size_t
utf8_sequence(const uint8_t *s, size_t n, uint32_t *cp, size_t *bad)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	uint32_t value;
	size_t need;

	if (bad != NULL)
		*bad = 1;
	if (c < 0x80) {
		if (cp != NULL)
			*cp = c;
		return 1;
	}
	/*
	 * The second byte's range rules out overlong forms (after E0, F0),
	 * surrogates (after ED) and code points past U+10FFFF (after F4).
	 */
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		value = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		value = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		value = c & 0x07;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0; /* a continuation byte, C0, C1 or F5..FF */
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			if (bad != NULL)
				*bad = i;
			return 0;
		}
		value = value << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	if (cp != NULL)
		*cp = value;
	return need + 1;
}

bool
utf8_is_valid(const void *s, size_t n)
{
	const uint8_t *p = s;
	size_t i = 0, step;

	while (i < n) {
		/* ASCII first: most text is, and the check runs over whole scripts. */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((step = utf8_sequence(p + i, n - i, NULL, NULL)) == 0)
			return false;
		i += step;
	}
	return true;
}

void
utf8_scrub(char *s, size_t n)
{
	uint8_t *p = (uint8_t *)s;
	size_t i = 0, step;

	while (i < n) {
		if ((step = utf8_sequence(p + i, n - i, NULL, NULL)) == 0) {
			p[i++] = '?';
			continue;
		}
		i += step;
	}
}
