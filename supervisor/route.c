/*
 * route: the route table -- Cloudflare-style "host/path" patterns matched by
 * a linear scan that keeps the most specific hit, without allocating.
 * Runs in the supervisor.
 *
 * Host wildcards (chosen here, as Cloudflare does within a zone):
 *   "*.example.com"  any subdomain of example.com, not example.com itself;
 *   "*example.com"   example.com and any subdomain -- but never
 *                    "notexample.com": the wildcard stops at a label
 *                    boundary, so a pattern cannot reach another owner's
 *                    name.
 * Path: a trailing "*" is a plain prefix match ("/api*" matches "/apiary";
 * "/api/" plus "*" does not match "/api"); otherwise the path must be equal.  The
 * query is not part of the match.  Among equally specific routes the one
 * added first wins.
 */
#include "supervisor/route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_PATTERN_MAX 2048
#define ROUTE_HOST_MAX 253
#define ROUTE_LABEL_MAX 63

enum route_host_kind {
	ROUTE_HOST_EXACT,    /* example.com */
	ROUTE_HOST_SUB,      /* *.example.com: subdomains only */
	ROUTE_HOST_APEX_SUB, /* *example.com: apex and subdomains */
};

struct route {
	char *pattern; /* one allocation holds pattern, id, host and path */
	char *id;
	char *host; /* lower case, without the wildcard */
	size_t host_len;
	char *path; /* without a trailing "*" */
	size_t path_len;
	enum route_host_kind kind;
	bool prefix; /* the path ended in "*" */
	void *target;
};

struct route_table {
	struct route *routes;
	size_t n;
	size_t cap;
};

static char
route_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool
route_is_host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '-' || ch == '_';
}

/* Visible ASCII that may appear in a path pattern ('*' is checked apart). */
static bool
route_is_path_char(char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '?' && ch != '#' && ch != '\\';
}

/* Checks a DNS-like host of len bytes: labels of letters, digits, '-', '_'. */
static bool
route_host_is_valid(const char *h, size_t len, const char **why)
{
	size_t i, label = 0;

	if (len == 0) {
		*why = "empty host";
		return false;
	}
	if (len > ROUTE_HOST_MAX) {
		*why = "host too long";
		return false;
	}
	for (i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (label == 0) {
				*why = "empty label in host";
				return false;
			}
			label = 0;
			continue;
		}
		if (h[i] == '*') {
			*why = "'*' only at the start of the host";
			return false;
		}
		if (h[i] == ':') {
			*why = "port not allowed";
			return false;
		}
		if (!route_is_host_char(h[i])) {
			*why = "invalid character in host";
			return false;
		}
		if (++label > ROUTE_LABEL_MAX) {
			*why = "host label too long";
			return false;
		}
	}
	if (label == 0) {
		*why = "empty label in host";
		return false;
	}
	return true;
}

/*
 * Splits a valid pattern: host (after any wildcard) and path (from '/').
 * Returns false with *why on an invalid one.
 */
static bool
route_split(const char *pattern, enum route_host_kind *kind, const char **host, size_t *host_len,
    const char **path, const char **why)
{
	const char *slash, *h, *p;
	size_t len;

	if (pattern == NULL || pattern[0] == '\0') {
		*why = "empty pattern";
		return false;
	}
	len = strlen(pattern);
	if (len > ROUTE_PATTERN_MAX) {
		*why = "pattern too long";
		return false;
	}
	if (strstr(pattern, "://") != NULL) {
		*why = "scheme not allowed";
		return false;
	}
	if ((slash = strchr(pattern, '/')) == NULL) {
		*why = "path required (e.g. \"example.com/*\")";
		return false;
	}
	h = pattern;
	*kind = ROUTE_HOST_EXACT;
	if (h[0] == '*') {
		if (h[1] == '.') {
			*kind = ROUTE_HOST_SUB;
			h += 2;
		} else {
			*kind = ROUTE_HOST_APEX_SUB;
			h += 1;
		}
	}
	if (h > slash || !route_host_is_valid(h, (size_t)(slash - h), why))
		return false;
	for (p = slash; *p != '\0'; p++) {
		if (*p == '*' && p[1] != '\0') {
			*why = "'*' only at the end of the path";
			return false;
		}
		if (*p == '?' || *p == '#') {
			*why = "query or fragment not allowed";
			return false;
		}
		if (*p != '*' && !route_is_path_char(*p)) {
			*why = "invalid character in path";
			return false;
		}
	}
	*host = h;
	*host_len = (size_t)(slash - h);
	*path = slash;
	return true;
}

bool
route_pattern_is_valid(const char *pattern, const char **why)
{
	enum route_host_kind kind;
	const char *host, *path, *reason = NULL;
	size_t host_len;
	bool ok;

	ok = route_split(pattern, &kind, &host, &host_len, &path, &reason);
	if (why != NULL)
		*why = ok ? NULL : reason;
	return ok;
}

int
route_pattern_host(const char *pattern, char *out, size_t out_len)
{
	enum route_host_kind kind;
	const char *host, *path, *why;
	size_t host_len, i;

	if (!route_split(pattern, &kind, &host, &host_len, &path, &why)) {
		errno = EINVAL;
		return -1;
	}
	if (out == NULL || host_len >= out_len) {
		errno = ERANGE;
		return -1;
	}
	for (i = 0; i < host_len; i++)
		out[i] = route_lower(host[i]);
	out[host_len] = '\0';
	return 0;
}

struct route_table *
route_table_new(void)
{
	return calloc(1, sizeof(struct route_table));
}

void
route_table_free(struct route_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->routes[i].pattern);
	free(t->routes);
	free(t);
}

int
route_table_add(struct route_table *t, const char *pattern, const char *id, void *target)
{
	enum route_host_kind kind;
	const char *host, *path, *why;
	size_t host_len, plen, idlen, pathlen, i, cap;
	struct route *r, *v;
	char *mem;

	if (t == NULL || !route_split(pattern, &kind, &host, &host_len, &path, &why)) {
		errno = EINVAL;
		return -1;
	}
	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		if ((v = reallocarray(t->routes, cap, sizeof(*v))) == NULL)
			return -1;
		t->routes = v;
		t->cap = cap;
	}
	if (id == NULL)
		id = "";
	plen = strlen(pattern);
	idlen = strlen(id);
	pathlen = strlen(path);
	if ((mem = malloc(plen + 1 + idlen + 1 + host_len + 1 + pathlen + 1)) == NULL)
		return -1;
	r = &t->routes[t->n];
	memset(r, 0, sizeof(*r));
	r->pattern = mem;
	memcpy(r->pattern, pattern, plen + 1);
	r->id = r->pattern + plen + 1;
	memcpy(r->id, id, idlen + 1);
	r->host = r->id + idlen + 1;
	for (i = 0; i < host_len; i++)
		r->host[i] = route_lower(host[i]);
	r->host[host_len] = '\0';
	r->host_len = host_len;
	r->path = r->host + host_len + 1;
	memcpy(r->path, path, pathlen + 1);
	r->prefix = pathlen > 0 && path[pathlen - 1] == '*';
	if (r->prefix)
		r->path[--pathlen] = '\0';
	r->path_len = pathlen;
	r->kind = kind;
	r->target = target;
	t->n++;
	return 0;
}

/* Compares host (len bytes) with a stored lower-case name, ignoring case. */
static bool
route_host_equal(const char *host, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (route_lower(host[i]) != name[i])
			return false;
	return true;
}

static bool
route_host_matches(const struct route *r, const char *host, size_t len)
{
	const char *tail;

	if (r->kind == ROUTE_HOST_EXACT || r->kind == ROUTE_HOST_APEX_SUB) {
		if (len == r->host_len && route_host_equal(host, r->host, len))
			return true;
		if (r->kind == ROUTE_HOST_EXACT)
			return false;
	}
	/* a subdomain: at least one character, a dot, then the name */
	if (len < r->host_len + 2)
		return false;
	tail = host + len - r->host_len;
	return tail[-1] == '.' && route_host_equal(tail, r->host, r->host_len);
}

static bool
route_path_matches(const struct route *r, const char *path)
{
	if (r->prefix)
		return strncmp(path, r->path, r->path_len) == 0;
	return strcmp(path, r->path) == 0;
}

/* True when a is more specific than b (route.h: host kind, host, path, exactness). */
static bool
route_is_more_specific(const struct route *a, const struct route *b)
{
	bool a_exact = a->kind == ROUTE_HOST_EXACT, b_exact = b->kind == ROUTE_HOST_EXACT;
	size_t a_host = a->host_len + (a->kind == ROUTE_HOST_SUB);
	size_t b_host = b->host_len + (b->kind == ROUTE_HOST_SUB);

	if (a_exact != b_exact)
		return a_exact;
	/* "*.example.com" (subdomains only) counts one longer than "*example.com" */
	if (a_host != b_host)
		return a_host > b_host;
	if (a->path_len != b->path_len)
		return a->path_len > b->path_len;
	return !a->prefix && b->prefix;
}

void *
route_table_match(const struct route_table *t, const char *host, const char *path)
{
	const struct route *best = NULL, *r;
	size_t i, hlen;

	if (t == NULL || host == NULL || path == NULL)
		return NULL;
	hlen = strlen(host);
	for (i = 0; i < t->n; i++) {
		r = &t->routes[i];
		if (!route_host_matches(r, host, hlen) || !route_path_matches(r, path))
			continue;
		if (best == NULL || route_is_more_specific(r, best))
			best = r;
	}
	return best == NULL ? NULL : best->target;
}

size_t
route_table_count(const struct route_table *t)
{
	return t == NULL ? 0 : t->n;
}
