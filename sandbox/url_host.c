/*
 * url_host: the URL Standard's host parser (domains through UTS #46 by ICU,
 * IPv4 in all its numeric forms, IPv6, opaque hosts) and the byte-string
 * helpers of sandbox/url.c.  Runs in sandboxes; url_init in the launcher.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uidna.h>

#include "common/hex.h"
#include "common/utf8.h"
#include "sandbox/url.h"

/* A domain longer than this (bytes) is refused before ICU sees it. */
#define URL_MAX_DOMAIN (1u << 20)

static UIDNA *url_idna;

int
url_init(void)
{
	UErrorCode err = U_ZERO_ERROR;
	struct url_buf warm = { 0 };

	if (url_idna != NULL)
		return 0;
	/* CheckHyphens and VerifyDnsLength are off: their errors are masked in use. */
	url_idna = uidna_openUTS46(UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
		UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE,
	    &err);
	if (U_FAILURE(err)) {
		url_idna = NULL;
		return -1;
	}
	/* One conversion now, so that any lazily loaded data is in before lock-down. */
	(void)url_domain_to_ascii("\xc3\x9f\xd7\x90\xe2\x80\x8d.x", 10, &warm);
	url_buf_release(&warm);
	return 0;
}

void
url_buf_release(struct url_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int
url_buf_reserve(struct url_buf *b, size_t more)
{
	size_t want;
	char *p;

	if (more > SIZE_MAX / 2 - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	want = b->len + more + 1;
	if (want <= b->cap)
		return 0;
	if (want < 32)
		want = 32;
	if (want < b->cap * 2)
		want = b->cap * 2;
	if ((p = realloc(b->p, want)) == NULL)
		return -1;
	b->p = p;
	b->cap = want;
	return 0;
}

int
url_buf_append(struct url_buf *b, const char *s, size_t n)
{
	if (url_buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
url_buf_putc(struct url_buf *b, char c)
{
	return url_buf_append(b, &c, 1);
}

int
url_buf_puts(struct url_buf *b, const char *s)
{
	return url_buf_append(b, s, strlen(s));
}

int
url_buf_copy(struct url_buf *dst, const struct url_buf *src)
{
	dst->len = 0;
	if (url_buf_append(dst, src->p != NULL ? src->p : "", src->len) == -1)
		return -1;
	return 0;
}

int
url_percent_decode(const char *s, size_t n, struct url_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		char c = s[i];

		if (c == '%' && i + 2 < n && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (url_buf_putc(out, c) == -1)
			return -1;
	}
	return 0;
}

/*
 * The sequence at s[0..n) and its code point: a well-formed one
 * (common/utf8.h), or a surrogate encoded alone in three bytes, as Duktape
 * keeps unpaired halves and the halves of pairs.  0 for anything else.
 */
static size_t
url_utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = utf8_sequence(s, n, cp, NULL);

	if (len == 0 && n >= 3 && s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf &&
	    (s[2] & 0xc0) == 0x80) {
		*cp = 0xd000 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		len = 3;
	}
	return len;
}

int
url_utf8_sanitize(const char *in, size_t n, bool join_surrogates, struct url_buf *out)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	while (i < n) {
		uint32_t cp, lo;
		size_t len = url_utf8_len(s + i, n - i, &cp);

		if (len == 0) {
			if (url_buf_append(out, replacement, 3) == -1)
				return -1;
			i++;
			continue;
		}
		if (cp >= 0xd800 && cp <= 0xdfff) {
			size_t len2;

			/* A pair written as two 3-byte sequences (how Duktape keeps them). */
			if (join_surrogates && cp <= 0xdbff && i + 3 < n &&
			    (len2 = url_utf8_len(s + i + 3, n - i - 3, &lo)) == 3 && lo >= 0xdc00 &&
			    lo <= 0xdfff) {
				uint32_t c = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				char four[4] = {
					(char)(0xf0 | c >> 18),
					(char)(0x80 | (c >> 12 & 0x3f)),
					(char)(0x80 | (c >> 6 & 0x3f)),
					(char)(0x80 | (c & 0x3f)),
				};

				if (url_buf_append(out, four, 4) == -1)
					return -1;
				i += 6;
				continue;
			}
			if (url_buf_append(out, replacement, 3) == -1)
				return -1;
			/* A decoder replaces each byte of an encoded surrogate; JS replaces the
			 * unit. */
			i += join_surrogates ? 3 : 1;
			if (!join_surrogates) {
				if (url_buf_append(out, replacement, 3) == -1 ||
				    url_buf_append(out, replacement, 3) == -1)
					return -1;
				i += 2;
			}
			continue;
		}
		if (url_buf_append(out, in + i, len) == -1)
			return -1;
		i += len;
	}
	if (out->p == NULL && url_buf_reserve(out, 0) == -1)
		return -1;
	return 0;
}

static bool
url_is_forbidden_host(unsigned char c)
{
	return c != '\0' ? strchr("\t\n\r #/:<>?@[\\]^|", c) != NULL : true;
}

static bool
url_is_forbidden_domain(unsigned char c)
{
	return url_is_forbidden_host(c) || c <= 0x1f || c == '%' || c == 0x7f;
}

int
url_domain_to_ascii(const char *domain, size_t len, struct url_buf *out)
{
	UErrorCode err = U_ZERO_ERROR;
	UIDNAInfo info = UIDNA_INFO_INITIALIZER;
	const uint32_t ignored = UIDNA_ERROR_EMPTY_LABEL | UIDNA_ERROR_LABEL_TOO_LONG |
	    UIDNA_ERROR_DOMAIN_NAME_TOO_LONG | UIDNA_ERROR_LEADING_HYPHEN |
	    UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4;
	size_t start = out->len, i;
	int32_t n;
	bool ascii = true;

	for (i = 0; i < len; i++)
		if ((unsigned char)domain[i] >= 0x80)
			ascii = false;
	if (ascii) {
		/* The standard's fast path: an ASCII domain is only lowercased. */
		if (url_buf_reserve(out, len) == -1)
			return -1;
		for (i = 0; i < len; i++) {
			char c = domain[i];

			out->p[out->len++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		out->p[out->len] = '\0';
	} else {
		if (len > URL_MAX_DOMAIN)
			goto invalid;
		if (url_idna == NULL && url_init() == -1)
			goto invalid;
		/* ToASCII never more than quadruples a domain's length (plus the ACE prefixes). */
		if (url_buf_reserve(out, len * 4 + 64) == -1)
			return -1;
		n = uidna_nameToASCII_UTF8(url_idna, domain, (int32_t)len, out->p + start,
		    (int32_t)(out->cap - start - 1), &info, &err);
		if (U_FAILURE(err) || (info.errors & ~ignored) != 0 || n < 0)
			goto invalid;
		out->len = start + (size_t)n;
		out->p[out->len] = '\0';
	}
	if (out->len == start)
		goto invalid;
	for (i = start; i < out->len; i++)
		if (url_is_forbidden_domain((unsigned char)out->p[i]))
			goto invalid;
	return 0;
invalid:
	out->len = start;
	if (out->p != NULL)
		out->p[start] = '\0';
	errno = EINVAL;
	return -1;
}

/* The IPv4 number parser: 0 with *value set, or -1.  Values saturate above 2^32. */
static int
url_ipv4_number(const char *s, size_t n, uint64_t *value)
{
	unsigned radix = 10;
	uint64_t v = 0;

	if (n == 0)
		return -1;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		radix = 16, s += 2, n -= 2;
	else if (n >= 2 && s[0] == '0')
		radix = 8, s++, n--;
	for (size_t i = 0; i < n; i++) {
		int d = hex_value((unsigned char)s[i]);

		if (d < 0 || (unsigned)d >= radix)
			return -1;
		v = v * radix + (unsigned)d;
		if (v > UINT32_MAX)
			v = (uint64_t)UINT32_MAX + 1;
	}
	*value = v;
	return 0;
}

/* True when the domain's last label is a number (so that it is an IPv4 address or invalid). */
static bool
url_ends_in_number(const char *s, size_t n)
{
	size_t start;
	uint64_t v;
	bool digits = true;

	if (n > 0 && s[n - 1] == '.') {
		if (n == 1)
			return false;
		n--;
	}
	start = n;
	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == n)
		return false;
	for (size_t i = start; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			digits = false;
	return digits || url_ipv4_number(s + start, n - start, &v) == 0;
}

static int
url_ipv4_parse(const char *s, size_t n, struct url_buf *out)
{
	uint64_t numbers[4], v;
	size_t count = 0, start = 0;
	char text[16];
	uint32_t addr;

	if (n > 0 && s[n - 1] == '.' && n > 1)
		n--;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (count == 4 || url_ipv4_number(s + start, i - start, &v) == -1)
			goto invalid;
		numbers[count++] = v;
		start = i + 1;
	}
	for (size_t i = 0; i + 1 < count; i++)
		if (numbers[i] > 255)
			goto invalid;
	if (numbers[count - 1] >= (uint64_t)1 << (8 * (5 - count)))
		goto invalid;
	addr = (uint32_t)numbers[count - 1];
	for (size_t i = 0; i + 1 < count; i++)
		addr += (uint32_t)numbers[i] << (8 * (3 - i));
	snprintf(text, sizeof(text), "%u.%u.%u.%u", addr >> 24, addr >> 16 & 0xff, addr >> 8 & 0xff,
	    addr & 0xff);
	return url_buf_puts(out, text);
invalid:
	errno = EINVAL;
	return -1;
}

static int
url_ipv6_parse(const char *s, size_t n, struct url_buf *out)
{
	uint16_t addr[8] = { 0 };
	int piece = 0, compress = -1, best = -1, best_len = 1;
	size_t p = 0;
	char text[8];

#define C (p < n ? (unsigned char)s[p] : -1)
	if (C == ':') {
		if (p + 1 >= n || s[p + 1] != ':')
			goto invalid;
		p += 2;
		compress = ++piece;
	}
	while (C != -1) {
		unsigned value = 0, length = 0;

		if (piece == 8)
			goto invalid;
		if (C == ':') {
			if (compress != -1)
				goto invalid;
			p++;
			compress = ++piece;
			continue;
		}
		while (length < 4 && C != -1 && hex_value(C) >= 0) {
			value = value * 16 + (unsigned)hex_value(C);
			p++, length++;
		}
		if (C == '.') {
			int seen = 0;

			if (length == 0 || piece > 6)
				goto invalid;
			p -= length;
			while (C != -1) {
				int v4 = -1;

				if (seen > 0) {
					if (C == '.' && seen < 4)
						p++;
					else
						goto invalid;
				}
				if (C < '0' || C > '9')
					goto invalid;
				while (C >= '0' && C <= '9') {
					if (v4 == -1)
						v4 = C - '0';
					else if (v4 == 0)
						goto invalid;
					else
						v4 = v4 * 10 + C - '0';
					if (v4 > 255)
						goto invalid;
					p++;
				}
				addr[piece] = (uint16_t)(addr[piece] * 0x100 + v4);
				if (++seen == 2 || seen == 4)
					piece++;
			}
			if (seen != 4)
				goto invalid;
			break;
		} else if (C == ':') {
			p++;
			if (C == -1)
				goto invalid;
		} else if (C != -1)
			goto invalid;
		addr[piece++] = (uint16_t)value;
	}
#undef C
	if (compress != -1) {
		int swaps = piece - compress;

		for (piece = 7; piece != 0 && swaps > 0; piece--, swaps--) {
			uint16_t t = addr[piece];

			addr[piece] = addr[compress + swaps - 1];
			addr[compress + swaps - 1] = t;
		}
	} else if (piece != 8)
		goto invalid;

	/* Serialize: the first longest run of two or more zero pieces becomes "::". */
	for (int i = 0; i < 8; i++) {
		int j = i;

		while (j < 8 && addr[j] == 0)
			j++;
		if (j - i > best_len)
			best = i, best_len = j - i;
		if (j > i)
			i = j - 1;
	}
	if (url_buf_putc(out, '[') == -1)
		return -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			if (url_buf_puts(out, i == 0 ? "::" : ":") == -1)
				return -1;
			i += best_len - 1;
			continue;
		}
		snprintf(text, sizeof(text), "%x", addr[i]);
		if (url_buf_puts(out, text) == -1 || (i < 7 && url_buf_putc(out, ':') == -1))
			return -1;
	}
	return url_buf_putc(out, ']');
invalid:
	errno = EINVAL;
	return -1;
}

int
url_host_parse(const char *s, size_t n, bool opaque, struct url_buf *out)
{
	struct url_buf decoded = { 0 }, domain = { 0 }, ascii = { 0 };
	int rc = -1;

	out->len = 0;
	if (url_buf_reserve(out, 0) == -1)
		return -1;
	out->p[0] = '\0';
	if (n > 0 && s[0] == '[') {
		if (n < 2 || s[n - 1] != ']') {
			errno = EINVAL;
			return -1;
		}
		return url_ipv6_parse(s + 1, n - 2, out);
	}
	if (opaque) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (url_is_forbidden_host(c)) {
				errno = EINVAL;
				return -1;
			}
			if (url_pct_append(out, c, URL_SET_C0) == -1)
				return -1;
		}
		return 0;
	}
	if (url_percent_decode(s, n, &decoded) == -1 ||
	    url_utf8_sanitize(decoded.p != NULL ? decoded.p : "", decoded.len, false, &domain) ==
		-1)
		goto done;
	if (url_domain_to_ascii(domain.p, domain.len, &ascii) == -1)
		goto done;
	if (url_ends_in_number(ascii.p, ascii.len))
		rc = url_ipv4_parse(ascii.p, ascii.len, out);
	else
		rc = url_buf_copy(out, &ascii);
done:
	url_buf_release(&decoded);
	url_buf_release(&domain);
	url_buf_release(&ascii);
	return rc;
}
