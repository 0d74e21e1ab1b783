/*
 * url: the URL Standard's basic URL parser (a state machine over bytes, no
 * recursion), its serializers and the URL class's setters.  Hosts are in
 * sandbox/url_host.c.  Runs in sandboxes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sandbox/url.h"

enum url_state {
	URL_NONE,
	URL_SCHEME_START,
	URL_SCHEME,
	URL_NO_SCHEME,
	URL_SPECIAL_RELATIVE_OR_AUTHORITY,
	URL_PATH_OR_AUTHORITY,
	URL_RELATIVE,
	URL_RELATIVE_SLASH,
	URL_SPECIAL_AUTHORITY_SLASHES,
	URL_SPECIAL_AUTHORITY_IGNORE_SLASHES,
	URL_AUTHORITY,
	URL_HOST_STATE,
	URL_HOSTNAME_STATE,
	URL_PORT_STATE,
	URL_FILE,
	URL_FILE_SLASH,
	URL_FILE_HOST,
	URL_PATH_START,
	URL_PATH,
	URL_OPAQUE_PATH,
	URL_QUERY,
	URL_FRAGMENT,
};

#define URL_EOF (-1)

bool
url_in_set(unsigned char c, enum url_set set)
{
	if (c < 0x20 || c >= 0x7f)
		return true;
	switch (set) {
	case URL_SET_FORM:
		if (strchr("!'()~", c) != NULL)
			return true;
		/* FALLTHROUGH */
	case URL_SET_COMPONENT:
		if (strchr("$%&+,", c) != NULL)
			return true;
		/* FALLTHROUGH */
	case URL_SET_USERINFO:
		if (strchr("/:;=@[\\]^|", c) != NULL)
			return true;
		/* FALLTHROUGH */
	case URL_SET_PATH:
		if (strchr("?^`{}", c) != NULL)
			return true;
		/* FALLTHROUGH */
	case URL_SET_QUERY:
		return strchr(" \"#<>", c) != NULL;
	case URL_SET_SPECIAL_QUERY:
		return strchr(" \"#<>'", c) != NULL;
	case URL_SET_FRAGMENT:
		return strchr(" \"<>`", c) != NULL;
	case URL_SET_C0:
		return false;
	}
	return false;
}

int
url_pct_append(struct url_buf *b, unsigned char c, enum url_set set)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

	if (c != 0 && !url_in_set(c, set))
		return url_buf_putc(b, (char)c);
	return url_buf_append(b, esc, 3);
}

static bool
url_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
url_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
url_scheme_is(const struct url_buf *scheme, const char *name)
{
	return scheme->p != NULL && strcmp(scheme->p, name) == 0;
}

/* The default port of a special scheme, -1 for none; *special tells whether it is special. */
static int
url_scheme_info(const char *scheme, size_t len, bool *special)
{
	static const struct {
		const char *name;
		int port;
	} table[] = {
		{ "ftp", 21 },
		{ "file", -1 },
		{ "http", 80 },
		{ "https", 443 },
		{ "ws", 80 },
		{ "wss", 443 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].name) == len && memcmp(table[i].name, scheme, len) == 0) {
			*special = true;
			return table[i].port;
		}
	*special = false;
	return -1;
}

static bool
url_is_special(const struct url *u)
{
	bool special;

	(void)url_scheme_info(u->scheme.p != NULL ? u->scheme.p : "", u->scheme.len, &special);
	return special;
}

static int
url_default_port(const struct url *u)
{
	bool special;

	return url_scheme_info(u->scheme.p != NULL ? u->scheme.p : "", u->scheme.len, &special);
}

static bool
url_has_credentials(const struct url *u)
{
	return u->username.len > 0 || u->password.len > 0;
}

/* A Windows drive letter ("C:" or "C|"); normalized accepts ':' only. */
static bool
url_is_drive(const char *s, size_t n, bool normalized)
{
	return n == 2 && url_is_alpha((unsigned char)s[0]) &&
	    (s[1] == ':' || (!normalized && s[1] == '|'));
}

/* Whether s[0..n) starts with a Windows drive letter (followed by the end, / \ ? or #). */
static bool
url_starts_with_drive(const char *s, size_t n)
{
	return n >= 2 && url_is_drive(s, 2, false) && (n == 2 || strchr("/\\?#", s[2]) != NULL);
}

/* The first path segment (after the leading '/'), as a pointer and a length. */
static const char *
url_first_segment(const struct url *u, size_t *n)
{
	const char *start, *end;

	if (u->path.len == 0) {
		*n = 0;
		return NULL;
	}
	start = u->path.p + 1;
	end = memchr(start, '/', u->path.len - 1);
	*n = end != NULL ? (size_t)(end - start) : u->path.len - 1;
	return start;
}

static void
url_path_shorten(struct url *u)
{
	const char *first;
	size_t n;

	first = url_first_segment(u, &n);
	if (url_scheme_is(&u->scheme, "file") && first != NULL && n == u->path.len - 1 &&
	    url_is_drive(first, n, true))
		return;
	while (u->path.len > 0 && u->path.p[u->path.len - 1] != '/')
		u->path.len--;
	if (u->path.len > 0)
		u->path.len--;
	if (u->path.p != NULL)
		u->path.p[u->path.len] = '\0';
}

static int
url_path_push(struct url *u, const char *seg, size_t n)
{
	if (url_buf_putc(&u->path, '/') == -1 || url_buf_append(&u->path, seg, n) == -1)
		return -1;
	return 0;
}

static bool
url_is_single_dot(const struct url_buf *b)
{
	return (b->len == 1 && b->p[0] == '.') || (b->len == 3 && strcasecmp(b->p, "%2e") == 0);
}

static bool
url_is_double_dot(const struct url_buf *b)
{
	if (b->len == 2)
		return strcmp(b->p, "..") == 0;
	if (b->len == 4)
		return strcasecmp(b->p, ".%2e") == 0 || strcasecmp(b->p, "%2e.") == 0;
	return b->len == 6 && strcasecmp(b->p, "%2e%2e") == 0;
}

static void
url_clear(struct url_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
url_init_record(struct url *u)
{
	memset(u, 0, sizeof(*u));
	u->port = -1;
}

void
url_release(struct url *u)
{
	url_buf_release(&u->scheme);
	url_buf_release(&u->username);
	url_buf_release(&u->password);
	url_buf_release(&u->host);
	url_buf_release(&u->path);
	url_buf_release(&u->query);
	url_buf_release(&u->fragment);
	u->port = -1;
	u->has_host = u->opaque_path = u->has_query = u->has_fragment = false;
}

/* Copies what a relative URL takes from its base, from the username on. */
static int
url_copy_authority(struct url *u, const struct url *base)
{
	if (url_buf_copy(&u->username, &base->username) == -1 ||
	    url_buf_copy(&u->password, &base->password) == -1 ||
	    url_buf_copy(&u->host, &base->host) == -1)
		return -1;
	u->has_host = base->has_host;
	u->port = base->port;
	return 0;
}

/*
 * The basic URL parser over the bytes s[0..n) (already sanitized and
 * trimmed), writing into `u`.  With an override state it runs as the
 * standard's setters do.  Returns 0, 1 for failure, or -1 for ENOMEM.
 */
static int
url_run(struct url *u, const struct url *base, const char *s, size_t n, enum url_state override)
{
	enum url_state state = override != URL_NONE ? override : URL_SCHEME_START;
	struct url_buf buf = { 0 }, host = { 0 };
	bool at_seen = false, brackets = false, password_seen = false;
	long p = 0, len = (long)n;
	int rc = 1;

	if (url_buf_reserve(&buf, 0) == -1)
		return -1;
	for (;;) {
		int c = p < len ? (unsigned char)s[p] : URL_EOF;
		int next = p + 1 < len ? (unsigned char)s[p + 1] : URL_EOF;

		switch (state) {
		case URL_NONE:
			goto fail;
		case URL_SCHEME_START:
			if (url_is_alpha(c)) {
				if (url_buf_putc(&buf, (char)(c | 0x20)) == -1)
					goto oom;
				state = URL_SCHEME;
			} else if (override == URL_NONE) {
				state = URL_NO_SCHEME;
				p--;
			} else
				goto fail;
			break;
		case URL_SCHEME:
			if (c != URL_EOF &&
			    (url_is_alpha(c) || url_is_digit(c) || c == '+' || c == '-' ||
				c == '.')) {
				if (url_buf_putc(&buf, (char)(url_is_alpha(c) ? c | 0x20 : c)) ==
				    -1)
					goto oom;
			} else if (c == ':') {
				bool buf_special;

				(void)url_scheme_info(buf.p, buf.len, &buf_special);
				if (override != URL_NONE) {
					if (url_is_special(u) != buf_special)
						goto done;
					if ((url_has_credentials(u) || u->port != -1) &&
					    strcmp(buf.p, "file") == 0)
						goto done;
					if (url_scheme_is(&u->scheme, "file") && u->has_host &&
					    u->host.len == 0)
						goto done;
				}
				if (url_buf_copy(&u->scheme, &buf) == -1)
					goto oom;
				if (override != URL_NONE) {
					if (u->port == url_default_port(u))
						u->port = -1;
					goto done;
				}
				url_clear(&buf);
				if (strcmp(u->scheme.p, "file") == 0)
					state = URL_FILE;
				else if (buf_special && base != NULL &&
				    strcmp(base->scheme.p, u->scheme.p) == 0)
					state = URL_SPECIAL_RELATIVE_OR_AUTHORITY;
				else if (buf_special)
					state = URL_SPECIAL_AUTHORITY_SLASHES;
				else if (next == '/') {
					state = URL_PATH_OR_AUTHORITY;
					p++;
				} else {
					u->opaque_path = true;
					url_clear(&u->path);
					if (url_buf_reserve(&u->path, 0) == -1)
						goto oom;
					state = URL_OPAQUE_PATH;
				}
			} else if (override == URL_NONE) {
				url_clear(&buf);
				state = URL_NO_SCHEME;
				p = -1;
			} else
				goto fail;
			break;
		case URL_NO_SCHEME:
			if (base == NULL || (base->opaque_path && c != '#'))
				goto fail;
			if (base->opaque_path) {
				if (url_buf_copy(&u->scheme, &base->scheme) == -1 ||
				    url_buf_copy(&u->path, &base->path) == -1 ||
				    url_buf_copy(&u->query, &base->query) == -1 ||
				    url_buf_reserve(&u->fragment, 0) == -1)
					goto oom;
				u->opaque_path = true;
				u->has_query = base->has_query;
				u->has_fragment = true;
				state = URL_FRAGMENT;
			} else {
				state =
				    url_scheme_is(&base->scheme, "file") ? URL_FILE : URL_RELATIVE;
				p--;
			}
			break;
		case URL_SPECIAL_RELATIVE_OR_AUTHORITY:
			if (c == '/' && next == '/') {
				state = URL_SPECIAL_AUTHORITY_IGNORE_SLASHES;
				p++;
			} else {
				state = URL_RELATIVE;
				p--;
			}
			break;
		case URL_PATH_OR_AUTHORITY:
			if (c == '/')
				state = URL_AUTHORITY;
			else {
				state = URL_PATH;
				p--;
			}
			break;
		case URL_RELATIVE:
			if (url_buf_copy(&u->scheme, &base->scheme) == -1)
				goto oom;
			if (c == '/' || (c == '\\' && url_is_special(u)))
				state = URL_RELATIVE_SLASH;
			else {
				if (url_copy_authority(u, base) == -1 ||
				    url_buf_copy(&u->path, &base->path) == -1 ||
				    url_buf_copy(&u->query, &base->query) == -1)
					goto oom;
				u->has_query = base->has_query;
				if (c == '?') {
					url_clear(&u->query);
					u->has_query = true;
					state = URL_QUERY;
				} else if (c == '#') {
					if (url_buf_reserve(&u->fragment, 0) == -1)
						goto oom;
					u->has_fragment = true;
					state = URL_FRAGMENT;
				} else if (c != URL_EOF) {
					u->has_query = false;
					url_clear(&u->query);
					url_path_shorten(u);
					state = URL_PATH;
					p--;
				}
			}
			break;
		case URL_RELATIVE_SLASH:
			if (url_is_special(u) && (c == '/' || c == '\\'))
				state = URL_SPECIAL_AUTHORITY_IGNORE_SLASHES;
			else if (c == '/')
				state = URL_AUTHORITY;
			else {
				if (url_copy_authority(u, base) == -1)
					goto oom;
				state = URL_PATH;
				p--;
			}
			break;
		case URL_SPECIAL_AUTHORITY_SLASHES:
			state = URL_SPECIAL_AUTHORITY_IGNORE_SLASHES;
			if (c == '/' && next == '/')
				p++;
			else
				p--;
			break;
		case URL_SPECIAL_AUTHORITY_IGNORE_SLASHES:
			if (c != '/' && c != '\\') {
				state = URL_AUTHORITY;
				p--;
			}
			break;
		case URL_AUTHORITY:
			if (c == '@') {
				if (at_seen) {
					/* The earlier '@' was part of the userinfo: "%40" goes
					 * first. */
					if (url_buf_append(
						password_seen ? &u->password : &u->username, "%40",
						3) == -1)
						goto oom;
				}
				at_seen = true;
				for (size_t i = 0; i < buf.len; i++) {
					unsigned char b = (unsigned char)buf.p[i];

					if (b == ':' && !password_seen) {
						password_seen = true;
						continue;
					}
					if (url_pct_append(
						password_seen ? &u->password : &u->username, b,
						URL_SET_USERINFO) == -1)
						goto oom;
				}
				url_clear(&buf);
			} else if (c == URL_EOF || c == '/' || c == '?' || c == '#' ||
			    (c == '\\' && url_is_special(u))) {
				if (at_seen && buf.len == 0)
					goto fail;
				p -= (long)buf.len + 1;
				url_clear(&buf);
				state = URL_HOST_STATE;
			} else if (url_buf_putc(&buf, (char)c) == -1)
				goto oom;
			break;
		case URL_HOST_STATE:
		case URL_HOSTNAME_STATE:
			if (override != URL_NONE && url_scheme_is(&u->scheme, "file")) {
				p--;
				state = URL_FILE_HOST;
			} else if (c == ':' && !brackets) {
				if (buf.len == 0 || override == URL_HOSTNAME_STATE)
					goto fail;
				if (url_host_parse(buf.p, buf.len, !url_is_special(u), &host) == -1)
					goto host_error;
				if (url_buf_copy(&u->host, &host) == -1)
					goto oom;
				u->has_host = true;
				url_clear(&buf);
				state = URL_PORT_STATE;
			} else if (c == URL_EOF || c == '/' || c == '?' || c == '#' ||
			    (c == '\\' && url_is_special(u))) {
				p--;
				if (url_is_special(u) && buf.len == 0)
					goto fail;
				if (override != URL_NONE && buf.len == 0 &&
				    (url_has_credentials(u) || u->port != -1))
					goto fail;
				if (url_host_parse(buf.p, buf.len, !url_is_special(u), &host) == -1)
					goto host_error;
				if (url_buf_copy(&u->host, &host) == -1)
					goto oom;
				u->has_host = true;
				url_clear(&buf);
				state = URL_PATH_START;
				if (override != URL_NONE)
					goto done;
			} else {
				if (c == '[')
					brackets = true;
				if (c == ']')
					brackets = false;
				if (url_buf_putc(&buf, (char)c) == -1)
					goto oom;
			}
			break;
		case URL_PORT_STATE:
			if (url_is_digit(c)) {
				if (url_buf_putc(&buf, (char)c) == -1)
					goto oom;
			} else if (c == URL_EOF || c == '/' || c == '?' || c == '#' ||
			    (c == '\\' && url_is_special(u)) || override != URL_NONE) {
				if (buf.len != 0) {
					unsigned long port = 0;

					for (size_t i = 0; i < buf.len && port <= 65535; i++)
						port = port * 10 + (unsigned long)(buf.p[i] - '0');
					if (port > 65535)
						goto fail;
					u->port = (int)port == url_default_port(u) ? -1 : (int)port;
					url_clear(&buf);
					if (override != URL_NONE)
						goto done;
				}
				if (override != URL_NONE)
					goto fail;
				state = URL_PATH_START;
				p--;
			} else
				goto fail;
			break;
		case URL_FILE:
			url_clear(&u->scheme);
			if (url_buf_puts(&u->scheme, "file") == -1)
				goto oom;
			url_clear(&u->host);
			if (url_buf_reserve(&u->host, 0) == -1)
				goto oom;
			u->has_host = true;
			if (c == '/' || c == '\\')
				state = URL_FILE_SLASH;
			else if (base != NULL && url_scheme_is(&base->scheme, "file")) {
				if (url_buf_copy(&u->host, &base->host) == -1 ||
				    url_buf_copy(&u->path, &base->path) == -1 ||
				    url_buf_copy(&u->query, &base->query) == -1)
					goto oom;
				u->has_host = base->has_host;
				u->has_query = base->has_query;
				if (c == '?') {
					url_clear(&u->query);
					u->has_query = true;
					state = URL_QUERY;
				} else if (c == '#') {
					if (url_buf_reserve(&u->fragment, 0) == -1)
						goto oom;
					u->has_fragment = true;
					state = URL_FRAGMENT;
				} else if (c != URL_EOF) {
					u->has_query = false;
					url_clear(&u->query);
					if (!url_starts_with_drive(s + p, (size_t)(len - p)))
						url_path_shorten(u);
					else
						url_clear(&u->path);
					state = URL_PATH;
					p--;
				}
			} else {
				state = URL_PATH;
				p--;
			}
			break;
		case URL_FILE_SLASH:
			if (c == '/' || c == '\\')
				state = URL_FILE_HOST;
			else {
				if (base != NULL && url_scheme_is(&base->scheme, "file")) {
					const char *first;
					size_t fn;

					if (url_buf_copy(&u->host, &base->host) == -1)
						goto oom;
					u->has_host = base->has_host;
					first = url_first_segment(base, &fn);
					if (!url_starts_with_drive(s + p, (size_t)(len - p)) &&
					    first != NULL && url_is_drive(first, fn, true) &&
					    url_path_push(u, first, fn) == -1)
						goto oom;
				}
				state = URL_PATH;
				p--;
			}
			break;
		case URL_FILE_HOST:
			if (c == URL_EOF || c == '/' || c == '\\' || c == '?' || c == '#') {
				p--;
				if (override == URL_NONE && url_is_drive(buf.p, buf.len, false))
					state = URL_PATH;
				else if (buf.len == 0) {
					url_clear(&u->host);
					if (url_buf_reserve(&u->host, 0) == -1)
						goto oom;
					u->has_host = true;
					if (override != URL_NONE)
						goto done;
					state = URL_PATH_START;
				} else {
					if (url_host_parse(
						buf.p, buf.len, !url_is_special(u), &host) == -1)
						goto host_error;
					if (strcmp(host.p, "localhost") == 0)
						url_clear(&host);
					if (url_buf_copy(&u->host, &host) == -1)
						goto oom;
					u->has_host = true;
					if (override != URL_NONE)
						goto done;
					url_clear(&buf);
					state = URL_PATH_START;
				}
			} else if (url_buf_putc(&buf, (char)c) == -1)
				goto oom;
			break;
		case URL_PATH_START:
			if (url_is_special(u)) {
				state = URL_PATH;
				if (c != '/' && c != '\\')
					p--;
			} else if (override == URL_NONE && c == '?') {
				url_clear(&u->query);
				if (url_buf_reserve(&u->query, 0) == -1)
					goto oom;
				u->has_query = true;
				state = URL_QUERY;
			} else if (override == URL_NONE && c == '#') {
				if (url_buf_reserve(&u->fragment, 0) == -1)
					goto oom;
				u->has_fragment = true;
				state = URL_FRAGMENT;
			} else if (c != URL_EOF) {
				state = URL_PATH;
				if (c != '/')
					p--;
			} else if (override != URL_NONE && !u->has_host) {
				if (url_path_push(u, "", 0) == -1)
					goto oom;
			}
			break;
		case URL_PATH:
			if (c == URL_EOF || c == '/' || (url_is_special(u) && c == '\\') ||
			    (override == URL_NONE && (c == '?' || c == '#'))) {
				bool slash = c == '/' || (url_is_special(u) && c == '\\');

				if (url_is_double_dot(&buf)) {
					url_path_shorten(u);
					if (!slash && url_path_push(u, "", 0) == -1)
						goto oom;
				} else if (url_is_single_dot(&buf)) {
					if (!slash && url_path_push(u, "", 0) == -1)
						goto oom;
				} else {
					if (url_scheme_is(&u->scheme, "file") && u->path.len == 0 &&
					    url_is_drive(buf.p, buf.len, false))
						buf.p[1] = ':';
					if (url_path_push(u, buf.p, buf.len) == -1)
						goto oom;
				}
				url_clear(&buf);
				if (c == '?') {
					url_clear(&u->query);
					if (url_buf_reserve(&u->query, 0) == -1)
						goto oom;
					u->has_query = true;
					state = URL_QUERY;
				} else if (c == '#') {
					if (url_buf_reserve(&u->fragment, 0) == -1)
						goto oom;
					u->has_fragment = true;
					state = URL_FRAGMENT;
				}
			} else if (url_pct_append(&buf, (unsigned char)c, URL_SET_PATH) == -1)
				goto oom;
			break;
		case URL_OPAQUE_PATH:
			if (c == '?') {
				url_clear(&u->query);
				if (url_buf_reserve(&u->query, 0) == -1)
					goto oom;
				u->has_query = true;
				state = URL_QUERY;
			} else if (c == '#') {
				if (url_buf_reserve(&u->fragment, 0) == -1)
					goto oom;
				u->has_fragment = true;
				state = URL_FRAGMENT;
			} else if (c == ' ') {
				/* A space before '?' or '#' is encoded so that it cannot become
				 * trailing. */
				if (next == '?' || next == '#') {
					if (url_buf_puts(&u->path, "%20") == -1)
						goto oom;
				} else if (url_buf_putc(&u->path, ' ') == -1)
					goto oom;
			} else if (c != URL_EOF &&
			    url_pct_append(&u->path, (unsigned char)c, URL_SET_C0) == -1)
				goto oom;
			break;
		case URL_QUERY:
			if ((override == URL_NONE && c == '#') || c == URL_EOF) {
				if (c == '#') {
					if (url_buf_reserve(&u->fragment, 0) == -1)
						goto oom;
					u->has_fragment = true;
					state = URL_FRAGMENT;
				}
			} else if (url_pct_append(&u->query, (unsigned char)c,
				       url_is_special(u) ? URL_SET_SPECIAL_QUERY : URL_SET_QUERY) ==
			    -1)
				goto oom;
			break;
		case URL_FRAGMENT:
			if (c != URL_EOF &&
			    url_pct_append(&u->fragment, (unsigned char)c, URL_SET_FRAGMENT) == -1)
				goto oom;
			break;
		}
		if (p >= len)
			break;
		p++;
	}
done:
	rc = 0;
	goto out;
host_error:
	if (errno == ENOMEM)
		goto oom;
fail:
	rc = 1;
	goto out;
oom:
	rc = -1;
out:
	url_buf_release(&buf);
	url_buf_release(&host);
	return rc;
}

/* Sanitizes, removes tabs and newlines (and with `trim` leading and trailing C0 and spaces). */
static int
url_prepare(const char *input, size_t len, bool trim, struct url_buf *out)
{
	size_t start = 0, end = len, j = 0;

	if (trim) {
		while (start < end && (unsigned char)input[start] <= 0x20)
			start++;
		while (end > start && (unsigned char)input[end - 1] <= 0x20)
			end--;
	}
	if (url_utf8_sanitize(input + start, end - start, true, out) == -1)
		return -1;
	for (size_t i = 0; i < out->len; i++)
		if (out->p[i] != '\t' && out->p[i] != '\n' && out->p[i] != '\r')
			out->p[j++] = out->p[i];
	out->len = j;
	out->p[j] = '\0';
	return 0;
}

int
url_parse(struct url *out, const char *input, size_t len, const struct url *base)
{
	struct url_buf in = { 0 };
	int rc;

	url_release(out);
	if (url_prepare(input, len, true, &in) == -1)
		return -1;
	rc = url_run(out, base, in.p, in.len, URL_NONE);
	url_buf_release(&in);
	if (rc == 1)
		errno = EINVAL;
	else if (rc == -1)
		errno = ENOMEM;
	return rc == 0 ? 0 : -1;
}

static bool
url_cannot_have_credentials(const struct url *u)
{
	return !u->has_host || u->host.len == 0 || url_scheme_is(&u->scheme, "file");
}

int
url_set(struct url *u, enum url_part part, const char *value, size_t len)
{
	struct url_buf in = { 0 };
	enum url_state state = URL_NONE;
	const char *s;
	size_t n;
	int rc = 0;
	bool stripped = false;

	if ((part == URL_SEARCH && len > 0 && value[0] == '?') ||
	    (part == URL_HASH && len > 0 && value[0] == '#')) {
		value++;
		len--;
		stripped = true;
	}
	if (url_prepare(value, len, false, &in) == -1)
		return -1;
	s = in.p;
	n = in.len;
	switch (part) {
	case URL_PROTOCOL:
		if (url_buf_putc(&in, ':') == -1)
			goto oom;
		s = in.p;
		n = in.len;
		state = URL_SCHEME_START;
		break;
	case URL_USERNAME:
	case URL_PASSWORD: {
		struct url_buf *dst = part == URL_USERNAME ? &u->username : &u->password;

		/* No tab stripping here: the raw value is encoded. */
		if (url_cannot_have_credentials(u))
			goto out;
		url_buf_release(&in);
		if (url_utf8_sanitize(value, len, true, &in) == -1)
			goto oom;
		url_clear(dst);
		for (size_t i = 0; i < in.len; i++)
			if (url_pct_append(dst, (unsigned char)in.p[i], URL_SET_USERINFO) == -1)
				goto oom;
		goto out;
	}
	case URL_HOST:
	case URL_HOSTNAME:
		if (u->opaque_path)
			goto out;
		state = part == URL_HOST ? URL_HOST_STATE : URL_HOSTNAME_STATE;
		break;
	case URL_PORT:
		if (url_cannot_have_credentials(u))
			goto out;
		if (len == 0) {
			u->port = -1;
			goto out;
		}
		state = URL_PORT_STATE;
		break;
	case URL_PATHNAME:
		if (u->opaque_path)
			goto out;
		url_clear(&u->path);
		state = URL_PATH_START;
		break;
	case URL_SEARCH:
	case URL_HASH: {
		bool search = part == URL_SEARCH;
		struct url_buf *dst = search ? &u->query : &u->fragment;

		url_clear(dst);
		if (len == 0 && !stripped) {
			if (search)
				u->has_query = false;
			else
				u->has_fragment = false;
			goto out;
		}
		if (url_buf_reserve(dst, 0) == -1)
			goto oom;
		if (search)
			u->has_query = true;
		else
			u->has_fragment = true;
		state = search ? URL_QUERY : URL_FRAGMENT;
		break;
	}
	}
	if (url_run(u, NULL, s, n, state) == -1)
		goto oom;
out:
	url_buf_release(&in);
	return rc;
oom:
	url_buf_release(&in);
	errno = ENOMEM;
	return -1;
}

static int
url_put_path(const struct url *u, struct url_buf *out)
{
	return url_buf_append(out, u->path.p != NULL ? u->path.p : "", u->path.len);
}

int
url_href(const struct url *u, struct url_buf *out)
{
	char port[16];

	if (url_buf_append(out, u->scheme.p, u->scheme.len) == -1 || url_buf_putc(out, ':') == -1)
		return -1;
	if (u->has_host) {
		if (url_buf_puts(out, "//") == -1)
			return -1;
		if (url_has_credentials(u)) {
			if (url_buf_append(out, u->username.p, u->username.len) == -1)
				return -1;
			if (u->password.len > 0 &&
			    (url_buf_putc(out, ':') == -1 ||
				url_buf_append(out, u->password.p, u->password.len) == -1))
				return -1;
			if (url_buf_putc(out, '@') == -1)
				return -1;
		}
		if (url_buf_append(out, u->host.p != NULL ? u->host.p : "", u->host.len) == -1)
			return -1;
		if (u->port != -1) {
			snprintf(port, sizeof(port), ":%d", u->port);
			if (url_buf_puts(out, port) == -1)
				return -1;
		}
	} else if (!u->opaque_path && u->path.len > 1 && u->path.p[1] == '/') {
		/* "/." keeps a path starting with an empty segment from reading as a host. */
		if (url_buf_puts(out, "/.") == -1)
			return -1;
	}
	if (url_put_path(u, out) == -1)
		return -1;
	if (u->has_query &&
	    (url_buf_putc(out, '?') == -1 ||
		url_buf_append(out, u->query.p != NULL ? u->query.p : "", u->query.len) == -1))
		return -1;
	if (u->has_fragment &&
	    (url_buf_putc(out, '#') == -1 ||
		url_buf_append(out, u->fragment.p != NULL ? u->fragment.p : "", u->fragment.len) ==
		    -1))
		return -1;
	return 0;
}

int
url_origin(const struct url *u, struct url_buf *out)
{
	static const char *const tuple[] = { "ftp", "http", "https", "ws", "wss" };
	char port[16];

	if (url_scheme_is(&u->scheme, "blob")) {
		struct url inner;
		int rc = 0;

		/* The origin of a blob: URL is that of its path, when that is an http(s) URL. */
		url_init_record(&inner);
		if (url_parse(&inner, u->path.p != NULL ? u->path.p : "", u->path.len, NULL) ==
			-1 ||
		    !(url_scheme_is(&inner.scheme, "http") ||
			url_scheme_is(&inner.scheme, "https")))
			rc = url_buf_puts(out, "null");
		else
			rc = url_origin(&inner, out);
		url_release(&inner);
		return rc;
	}
	for (size_t i = 0; i < sizeof(tuple) / sizeof(tuple[0]); i++) {
		if (!url_scheme_is(&u->scheme, tuple[i]))
			continue;
		if (url_buf_puts(out, tuple[i]) == -1 || url_buf_puts(out, "://") == -1 ||
		    url_buf_append(out, u->host.p, u->host.len) == -1)
			return -1;
		if (u->port != -1) {
			snprintf(port, sizeof(port), ":%d", u->port);
			if (url_buf_puts(out, port) == -1)
				return -1;
		}
		return 0;
	}
	return url_buf_puts(out, "null");
}

int
url_get(const struct url *u, enum url_part part, struct url_buf *out)
{
	char port[16];

	switch (part) {
	case URL_PROTOCOL:
		if (url_buf_append(out, u->scheme.p, u->scheme.len) == -1)
			return -1;
		return url_buf_putc(out, ':');
	case URL_USERNAME:
		return url_buf_append(out, u->username.p, u->username.len);
	case URL_PASSWORD:
		return url_buf_append(out, u->password.p, u->password.len);
	case URL_HOST:
		if (!u->has_host)
			return url_buf_puts(out, "");
		if (url_buf_append(out, u->host.p, u->host.len) == -1)
			return -1;
		if (u->port == -1)
			return 0;
		snprintf(port, sizeof(port), ":%d", u->port);
		return url_buf_puts(out, port);
	case URL_HOSTNAME:
		return url_buf_append(
		    out, u->has_host ? u->host.p : "", u->has_host ? u->host.len : 0);
	case URL_PORT:
		if (u->port == -1)
			return url_buf_puts(out, "");
		snprintf(port, sizeof(port), "%d", u->port);
		return url_buf_puts(out, port);
	case URL_PATHNAME:
		return url_put_path(u, out);
	case URL_SEARCH:
		if (!u->has_query || u->query.len == 0)
			return url_buf_puts(out, "");
		if (url_buf_putc(out, '?') == -1)
			return -1;
		return url_buf_append(out, u->query.p, u->query.len);
	case URL_HASH:
		if (!u->has_fragment || u->fragment.len == 0)
			return url_buf_puts(out, "");
		if (url_buf_putc(out, '#') == -1)
			return -1;
		return url_buf_append(out, u->fragment.p, u->fragment.len);
	}
	return url_buf_puts(out, "");
}
