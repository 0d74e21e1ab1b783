/*
 * multipart: parses a whole multipart/form-data body held in memory into
 * zero-copy part views.  Runs in the supervisor, on admin uploads; every
 * length is checked before a byte is read.
 */
#include "supervisor/multipart.h"

#include <stdint.h>
#include <string.h>

/* "\r\n--" + boundary */
#define MP_DELIM_MAX (4 + MULTIPART_BOUNDARY_MAX)

struct mp_delim {
	char text[MP_DELIM_MAX];
	size_t len; /* of "\r\n--boundary" */
};

/* Where a delimiter line was found. */
struct mp_hit {
	size_t at;    /* first byte of the delimiter ("\r\n" or, at offset 0, "--") */
	size_t next;  /* first byte after the delimiter line */
	bool closing; /* "--boundary--" */
};

static char
mp_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
mp_ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (mp_lower(a[i]) != mp_lower(b[i]))
			return false;
	return true;
}

static bool
mp_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 token characters. */
static bool
mp_is_token(char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 2046 bchars, space included (it may not end the boundary). */
static bool
mp_is_bchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

/* The offset of needle in hay[from..len), or SIZE_MAX. */
static size_t
mp_find(const char *hay, size_t len, size_t from, const char *needle, size_t nlen)
{
	while (from < len && len - from >= nlen) {
		const char *p = memchr(hay + from, needle[0], len - from - nlen + 1);

		if (p == NULL)
			return SIZE_MAX;
		from = (size_t)(p - hay);
		if (memcmp(p, needle, nlen) == 0)
			return from;
		from++;
	}
	return SIZE_MAX;
}

/*
 * Checks what follows "--boundary" at `after`: "--" (closing) or optional
 * transport padding then CRLF.  Anything else means the text was data.
 */
static bool
mp_delimiter_end(const char *b, size_t len, size_t after, struct mp_hit *hit)
{
	if (len - after >= 2 && b[after] == '-' && b[after + 1] == '-') {
		hit->closing = true;
		hit->next = after + 2;
		return true;
	}
	while (after < len && mp_is_space(b[after]))
		after++;
	if (len - after >= 2 && b[after] == '\r' && b[after + 1] == '\n') {
		hit->closing = false;
		hit->next = after + 2;
		return true;
	}
	return false;
}

/* The next delimiter line at or after `from`; false when there is none. */
static bool
mp_next_delimiter(const char *b, size_t len, size_t from, const struct mp_delim *d,
    bool allow_at_start, struct mp_hit *hit)
{
	size_t at;

	/* The first delimiter may open the body without a CRLF before it. */
	if (allow_at_start && from == 0 && len >= d->len - 2 &&
	    memcmp(b, d->text + 2, d->len - 2) == 0 && mp_delimiter_end(b, len, d->len - 2, hit)) {
		hit->at = 0;
		return true;
	}
	while ((at = mp_find(b, len, from, d->text, d->len)) != SIZE_MAX) {
		if (mp_delimiter_end(b, len, at + d->len, hit)) {
			hit->at = at;
			return true;
		}
		from = at + 1;
	}
	return false;
}

/* Reads a parameter value (quoted or token) at *pos; sets the view. */
static int
mp_param_value(const char *v, size_t vlen, size_t *pos, const char **out, size_t *out_len)
{
	size_t i = *pos, start;

	if (i < vlen && v[i] == '"') {
		start = ++i;
		while (i < vlen && v[i] != '"')
			i++;
		if (i >= vlen)
			return -1;
		*out = v + start;
		*out_len = i - start;
		*pos = i + 1;
		return 0;
	}
	start = i;
	while (i < vlen && mp_is_token(v[i]))
		i++;
	if (i == start)
		return -1;
	*out = v + start;
	*out_len = i - start;
	*pos = i;
	return 0;
}

/* Parses "form-data; name=...; filename=..." into the part. */
static int
mp_disposition(const char *v, size_t vlen, struct multipart_part *p, const char **why)
{
	size_t i = 0, start;

	while (i < vlen && mp_is_token(v[i]))
		i++;
	if (!mp_ieq(v, i, "form-data")) {
		*why = "part disposition is not form-data";
		return -1;
	}
	for (;;) {
		const char *pname, *pval;
		size_t pname_len, pval_len;

		while (i < vlen && mp_is_space(v[i]))
			i++;
		if (i == vlen)
			break;
		if (v[i++] != ';')
			goto malformed;
		while (i < vlen && mp_is_space(v[i]))
			i++;
		for (start = i; i < vlen && mp_is_token(v[i]); i++)
			;
		pname = v + start;
		pname_len = i - start;
		while (i < vlen && mp_is_space(v[i]))
			i++;
		if (pname_len == 0 || i == vlen || v[i++] != '=')
			goto malformed;
		while (i < vlen && mp_is_space(v[i]))
			i++;
		if (mp_param_value(v, vlen, &i, &pval, &pval_len) == -1)
			goto malformed;
		if (mp_ieq(pname, pname_len, "name")) {
			if (p->name != NULL) {
				*why = "part has two names";
				return -1;
			}
			p->name = pval;
			p->name_len = pval_len;
		} else if (mp_ieq(pname, pname_len, "filename")) {
			if (p->filename != NULL) {
				*why = "part has two filenames";
				return -1;
			}
			p->filename = pval;
			p->filename_len = pval_len;
		}
	}
	return 0;
malformed:
	*why = "malformed Content-Disposition";
	return -1;
}

/* One header line (without its CRLF). */
static int
mp_header(const char *line, size_t len, struct multipart_part *p, bool *seen_disposition,
    const char **why)
{
	const char *colon = memchr(line, ':', len);
	size_t name_len, v, vend;

	if (len > 0 && mp_is_space(line[0])) {
		*why = "folded part header lines are not supported";
		return -1;
	}
	if (colon == NULL || colon == line) {
		*why = "malformed part header";
		return -1;
	}
	name_len = (size_t)(colon - line);
	for (size_t i = 0; i < name_len; i++)
		if (!mp_is_token(line[i])) {
			*why = "malformed part header";
			return -1;
		}
	for (v = name_len + 1; v < len && mp_is_space(line[v]); v++)
		;
	for (vend = len; vend > v && mp_is_space(line[vend - 1]); vend--)
		;
	if (mp_ieq(line, name_len, "content-disposition")) {
		if (*seen_disposition) {
			*why = "part has two Content-Disposition headers";
			return -1;
		}
		*seen_disposition = true;
		return mp_disposition(line + v, vend - v, p, why);
	}
	if (mp_ieq(line, name_len, "content-type")) {
		if (p->content_type != NULL) {
			*why = "part has two Content-Type headers";
			return -1;
		}
		p->content_type = line + v;
		p->content_type_len = vend - v;
	}
	return 0;
}

/* Parses the header block at *pos up to and including its empty line. */
static int
mp_headers(const char *b, size_t len, size_t *pos, struct multipart_part *p, const char **why)
{
	size_t start = *pos, i = *pos;
	bool seen_disposition = false;

	for (;;) {
		size_t limit = len - start > MULTIPART_HEADER_BYTES_MAX
		    ? start + MULTIPART_HEADER_BYTES_MAX
		    : len;
		size_t eol = mp_find(b, limit, i, "\r\n", 2);

		if (eol == SIZE_MAX) {
			*why = limit < len ? "part headers too large" : "unterminated part headers";
			return -1;
		}
		if (memchr(b + i, '\n', eol - i) != NULL || memchr(b + i, '\r', eol - i) != NULL ||
		    memchr(b + i, '\0', eol - i) != NULL) {
			*why = "stray CR, LF or NUL in part headers";
			return -1;
		}
		if (eol == i)
			break;
		if (mp_header(b + i, eol - i, p, &seen_disposition, why) == -1)
			return -1;
		i = eol + 2;
	}
	if (p->name == NULL || p->name_len == 0) {
		*why = "part has no name";
		return -1;
	}
	*pos = i + 2;
	return 0;
}

static int
mp_delim_init(struct mp_delim *d, const char *boundary, const char **why)
{
	size_t blen = strlen(boundary);

	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX) {
		*why = "invalid boundary";
		return -1;
	}
	memcpy(d->text, "\r\n--", 4);
	memcpy(d->text + 4, boundary, blen);
	d->len = 4 + blen;
	return 0;
}

int
multipart_parse(
    const void *body, size_t len, const char *boundary, struct multipart *out, const char **why)
{
	const char *b = body;
	struct mp_delim d;
	struct mp_hit hit;
	size_t pos;

	out->count = 0;
	if (mp_delim_init(&d, boundary, why) == -1)
		return -1;
	if (!mp_next_delimiter(b, len, 0, &d, true, &hit)) {
		*why = "no boundary delimiter";
		return -1;
	}
	while (!hit.closing) {
		struct multipart_part *p;

		if (out->count == MULTIPART_PARTS_MAX) {
			*why = "too many parts";
			return -1;
		}
		p = &out->parts[out->count];
		memset(p, 0, sizeof(*p));
		pos = hit.next;
		if (mp_headers(b, len, &pos, p, why) == -1)
			return -1;
		/*
		 * The CRLF before the data's delimiter belongs to the delimiter; an
		 * empty part may share it with the blank line ending the headers,
		 * hence the search from pos - 2 (pos >= 2 after a header block).
		 */
		if (!mp_next_delimiter(b, len, pos - 2, &d, false, &hit)) {
			*why = "missing closing boundary";
			return -1;
		}
		p->data = b + pos;
		p->len = hit.at >= pos ? hit.at - pos : 0;
		out->count++;
	}
	return 0;
}

/* --- Content-Type ---------------------------------------------------------- */

/* Copies a boundary parameter value (quoted-pairs unescaped) into out. */
static int
mp_copy_boundary(const char *v, size_t *pos, char *out, size_t out_len)
{
	size_t i = *pos, n = 0;

	if (v[i] == '"') {
		for (i++; v[i] != '"'; i++) {
			if (v[i] == '\0')
				return -1;
			if (v[i] == '\\' && v[i + 1] != '\0')
				i++;
			if (n + 1 >= out_len)
				return -1;
			out[n++] = v[i];
		}
		i++;
	} else {
		for (; mp_is_token(v[i]); i++) {
			if (n + 1 >= out_len)
				return -1;
			out[n++] = v[i];
		}
	}
	out[n] = '\0';
	*pos = i;
	return 0;
}

/* Skips a parameter value we do not need. */
static int
mp_skip_value(const char *v, size_t *pos)
{
	size_t i = *pos;

	if (v[i] == '"') {
		for (i++; v[i] != '"'; i++) {
			if (v[i] == '\0')
				return -1;
			if (v[i] == '\\' && v[i + 1] != '\0')
				i++;
		}
		i++;
	} else {
		while (mp_is_token(v[i]))
			i++;
	}
	*pos = i;
	return 0;
}

static bool
mp_boundary_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MULTIPART_BOUNDARY_MAX || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!mp_is_bchar(s[i]))
			return false;
	return true;
}

int
multipart_boundary(const char *ct, char *out, size_t out_len, const char **why)
{
	size_t i = 0, start;
	bool found = false;

	while (mp_is_space(ct[i]))
		i++;
	for (start = i; mp_is_token(ct[i]) || ct[i] == '/'; i++)
		;
	if (!mp_ieq(ct + start, i - start, "multipart/form-data")) {
		*why = "content type is not multipart/form-data";
		return -1;
	}
	for (;;) {
		while (mp_is_space(ct[i]))
			i++;
		if (ct[i] == '\0')
			break;
		if (ct[i++] != ';')
			goto malformed;
		while (mp_is_space(ct[i]))
			i++;
		for (start = i; mp_is_token(ct[i]); i++)
			;
		if (i == start || ct[i++] != '=')
			goto malformed;
		if (mp_ieq(ct + start, i - 1 - start, "boundary")) {
			if (found || mp_copy_boundary(ct, &i, out, out_len) == -1)
				goto malformed;
			found = true;
		} else if (mp_skip_value(ct, &i) == -1) {
			goto malformed;
		}
	}
	if (!found || !mp_boundary_is_valid(out)) {
		*why = "missing or invalid multipart boundary";
		return -1;
	}
	return 0;
malformed:
	*why = "malformed multipart content type";
	return -1;
}

/* --- lookup ---------------------------------------------------------------- */

bool
multipart_part_is(const struct multipart_part *p, const char *name)
{
	size_t n = strlen(name);

	return p->name_len == n && memcmp(p->name, name, n) == 0;
}

const struct multipart_part *
multipart_find(const struct multipart *mp, const char *name)
{
	for (size_t i = 0; i < mp->count; i++)
		if (multipart_part_is(&mp->parts[i], name))
			return &mp->parts[i];
	return NULL;
}
