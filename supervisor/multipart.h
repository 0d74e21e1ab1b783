/*
 * multipart: a parser for a whole multipart/form-data body held in memory
 * (RFC 7578 over RFC 2046), for admin script uploads.  Runs in the
 * supervisor; every byte it reads is untrusted.
 */
#ifndef EDGED_MULTIPART_H
#define EDGED_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#define MULTIPART_PARTS_MAX 64          /* more parts: rejected */
#define MULTIPART_HEADER_BYTES_MAX 4096 /* one part's header block, CRLFs included */
#define MULTIPART_BOUNDARY_MAX 70       /* RFC 2046 */

/*
 * One part, as views into the body given to multipart_parse: nothing is
 * copied, nothing is NUL-terminated, and every pointer lives as long as that
 * body.  Quoted parameter values are taken verbatim between the quotes (no
 * backslash unescaping, as browsers percent-encode quotes instead).
 */
struct multipart_part {
	const char *name; /* Content-Disposition name=; never empty */
	size_t name_len;
	const char *filename; /* filename=, or NULL when absent */
	size_t filename_len;
	const char *content_type; /* Content-Type value, or NULL when absent */
	size_t content_type_len;
	const char *data; /* the part's content */
	size_t len;
};

struct multipart {
	struct multipart_part parts[MULTIPART_PARTS_MAX];
	size_t count;
};

/*
 * Extracts the boundary from a Content-Type header value, which must be
 * "multipart/form-data; boundary=..." (quoted or not; case-insensitive
 * names).  Writes it NUL-terminated into out (out_len >
 * MULTIPART_BOUNDARY_MAX).  Returns 0, or -1 with *why set to a static
 * reason.
 */
int multipart_boundary(const char *content_type, char *out, size_t out_len, const char **why);

/*
 * Parses `body` (len bytes, borrowed; need not be NUL-terminated) delimited
 * by `boundary` into *out.  Lines end in CRLF.  A preamble before the first
 * delimiter and an epilogue after the closing one are ignored.  Every part
 * needs a Content-Disposition of form-data with a non-empty name.  Returns 0,
 * or -1 with *why set to a static reason; *out is then unspecified.  Never
 * reads outside body.
 */
int multipart_parse(
    const void *body, size_t len, const char *boundary, struct multipart *out, const char **why);

/* The first part called `name` (NUL-terminated), or NULL. */
const struct multipart_part *multipart_find(const struct multipart *mp, const char *name);

/* True when the part's name equals the NUL-terminated `name`. */
bool multipart_part_is(const struct multipart_part *p, const char *name);

#endif
