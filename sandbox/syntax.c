/*
 * syntax: locating a syntax error's column by compiling prefixes of the
 * script.  Runs in sandboxes.
 */
#include "sandbox/syntax.h"

#include <stdbool.h>
#include <string.h>

/*
 * Compiles src[0..n) followed by a line holding a character no token can
 * start with.  A prefix that stops before the offending token fails (or not)
 * on that added line; one that holds it fails on `line` itself.
 */
struct syntax_probe {
	const char *src;
	size_t n;
	unsigned line;
	bool fails_on_line;
};

static duk_ret_t
syntax_probe_call(duk_context *ctx, void *arg)
{
	struct syntax_probe *p = arg;

	duk_push_lstring(ctx, p->src, p->n);
	duk_push_string(ctx, "\n\x01");
	duk_concat(ctx, 2);
	duk_push_string(ctx, "worker.js");
	if (duk_pcompile(ctx, 0) != 0) {
		duk_get_prop_string(ctx, -1, "lineNumber");
		p->fails_on_line = duk_get_uint_default(ctx, -1, 0) == p->line;
	}
	return 0;
}

static bool
syntax_prefix_fails_on_line(duk_context *ctx, const char *src, size_t n, unsigned line)
{
	struct syntax_probe p = { .src = src, .n = n, .line = line };

	/* An allocation failure or the CPU budget ends the probe as "no". */
	if (duk_safe_call(ctx, syntax_probe_call, &p, 0, 1) != DUK_EXEC_SUCCESS)
		p.fails_on_line = false;
	duk_pop(ctx);
	return p.fails_on_line;
}

/* Byte offsets of the start and end (exclusive, before '\n') of `line`. */
static bool
syntax_line_bounds(const char *src, size_t len, unsigned line, size_t *start, size_t *end)
{
	size_t at = 0;

	for (unsigned l = 1; l < line; l++) {
		const char *nl = memchr(src + at, '\n', len - at);

		if (nl == NULL)
			return false;
		at = (size_t)(nl - src) + 1;
	}
	*start = at;
	while (at < len && src[at] != '\n')
		at++;
	*end = at;
	return true;
}

/* Characters (UTF-8 sequences) in s[0..n). */
static unsigned
syntax_chars(const char *s, size_t n)
{
	unsigned chars = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	return chars;
}

unsigned
syntax_error_column(duk_context *ctx, const char *src, size_t len, unsigned line)
{
	size_t start, end, lo, hi;

	if (line == 0 || len > SYNTAX_COLUMN_MAX_SOURCE ||
	    !syntax_line_bounds(src, len, line, &start, &end))
		return 0;
	/* Failing on the line is monotonic in the prefix: find the shortest such prefix. */
	lo = start;
	hi = end;
	if (!syntax_prefix_fails_on_line(ctx, src, hi, line))
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (syntax_prefix_fails_on_line(ctx, src, mid, line))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo > start ? syntax_chars(src + start, lo - start) : 1;
}

void
syntax_strip_position(char *message)
{
	char *at = strstr(message, " (line ");
	size_t n = strlen(message);

	if (at != NULL && n > 0 && message[n - 1] == ')' && strchr(at + 1, '(') == at + 1)
		*at = '\0';
}
