/*
 * url: the WHATWG URL Standard's basic URL parser, serializer, setters and
 * origin, as a pure C function of its inputs (hosts through UTS #46 by ICU).
 * Runs in sandboxes (behind sdk-js's URL class); the launcher calls url_init.
 */
#ifndef EDGED_URL_H
#define EDGED_URL_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte string; `p` is NUL-terminated whenever it is non-NULL. */
struct url_buf {
	char *p;
	size_t len;
	size_t cap;
};

/*
 * A URL record.  Strings are already percent-encoded and ASCII.  `path`
 * holds an opaque path as is, or a path list serialized as "/seg/seg"
 * (the empty list is "", one empty segment is "/").
 */
struct url {
	struct url_buf scheme; /* without the ':' */
	struct url_buf username;
	struct url_buf password;
	struct url_buf host; /* serialized; meaningful when has_host */
	struct url_buf path;
	struct url_buf query;    /* without the '?'; meaningful when has_query */
	struct url_buf fragment; /* without the '#'; meaningful when has_fragment */
	int port;                /* -1: null */
	bool has_host;
	bool opaque_path;
	bool has_query;
	bool has_fragment;
};

/* The attributes the URL class can set (href is a plain parse). */
enum url_part {
	URL_PROTOCOL,
	URL_USERNAME,
	URL_PASSWORD,
	URL_HOST,
	URL_HOSTNAME,
	URL_PORT,
	URL_PATHNAME,
	URL_SEARCH,
	URL_HASH,
};

/*
 * Loads the IDNA data.  Call once before the process is locked down (it may
 * open data files); url_parse calls it lazily otherwise.  Returns 0 or -1.
 */
int url_init(void);

/* An empty URL record, ready for url_parse or url_release. */
void url_init_record(struct url *u);
/* Frees the strings of `u` (which is not itself freed); accepts a zeroed record. */
void url_release(struct url *u);

/*
 * Parses `len` bytes of `input` (UTF-8; invalid sequences and lone
 * surrogates encoded CESU-style are read as U+FFFD) against `base` (NULL
 * for none) into `out`, which must be initialised and is overwritten.
 * Returns 0, or -1 with errno EINVAL when the input is not a valid URL and
 * ENOMEM when memory ran out; `out` then holds nothing the caller must use
 * (but must still be released).
 */
int url_parse(struct url *out, const char *input, size_t len, const struct url *base);

/*
 * Runs the setter of `part` with `value` (UTF-8, `len` bytes) on `u`, with
 * the URL Standard's state-override rules: an unacceptable value leaves the
 * URL unchanged or partly changed exactly as the standard says.  Returns 0,
 * or -1 (errno ENOMEM) when memory ran out, `u` then being valid but unspecified.
 */
int url_set(struct url *u, enum url_part part, const char *value, size_t len);

/*
 * Appends a serialization to `out` (initialised to zeroes or holding text):
 * url_href the whole URL, url_origin its origin ("null" for an opaque one),
 * url_get the getter of `part` (protocol with its ':', search with its '?'
 * unless empty, ...).  Return 0 or -1 (ENOMEM).
 */
int url_href(const struct url *u, struct url_buf *out);
int url_origin(const struct url *u, struct url_buf *out);
int url_get(const struct url *u, enum url_part part, struct url_buf *out);

/*
 * The domain-to-ASCII step of the host parser on UTF-8 `domain` (already
 * percent-decoded), with beStrict false; appends the result to `out`.
 * Returns 0, or -1 with errno EINVAL (not a valid domain) or ENOMEM.
 */
int url_domain_to_ascii(const char *domain, size_t len, struct url_buf *out);

/*
 * Helpers shared by sandbox/url.c and sandbox/url_host.c (and the natives).
 * Each returns 0, or -1 (errno ENOMEM) leaving `b` valid.
 */

/* Frees a buffer's memory and zeroes it. */
void url_buf_release(struct url_buf *b);
/* Makes room for `more` bytes and the NUL (allocating even for 0). */
int url_buf_reserve(struct url_buf *b, size_t more);
int url_buf_append(struct url_buf *b, const char *s, size_t n);
int url_buf_putc(struct url_buf *b, char c);
int url_buf_puts(struct url_buf *b, const char *s);
/* Replaces `dst`'s content with `src`'s. */
int url_buf_copy(struct url_buf *dst, const struct url_buf *src);

/* The percent-encode sets, each containing the ones before it. */
enum url_set {
	URL_SET_C0,
	URL_SET_FRAGMENT,
	URL_SET_QUERY,
	URL_SET_SPECIAL_QUERY,
	URL_SET_PATH,
	URL_SET_USERINFO,
	URL_SET_COMPONENT,
	URL_SET_FORM,
};

/* True when byte `c` is in percent-encode set `set` (bytes >= 0x7f always are). */
bool url_in_set(unsigned char c, enum url_set set);
/* Appends `c`, percent-encoded when it is in `set`. */
int url_pct_append(struct url_buf *b, unsigned char c, enum url_set set);
/* Appends the percent-decoding of s[0..n) (bytes). */
int url_percent_decode(const char *s, size_t n, struct url_buf *out);
/*
 * Appends s[0..n) with every ill-formed UTF-8 sequence replaced by U+FFFD.
 * With `join_surrogates`, a surrogate pair encoded as two 3-byte sequences
 * becomes one code point and a lone surrogate one U+FFFD (a JS string's
 * USVString conversion); without, encoded surrogates are ill-formed bytes.
 * Always leaves `out->p` non-NULL on success.
 */
int url_utf8_sanitize(const char *s, size_t n, bool join_surrogates, struct url_buf *out);

/*
 * The host parser on s[0..n) (not percent-decoded; `opaque` for a
 * non-special URL): replaces `out`'s content with the serialized host.
 * Returns 0, or -1 with errno EINVAL (failure) or ENOMEM.
 */
int url_host_parse(const char *s, size_t n, bool opaque, struct url_buf *out);

#endif
