/*
 * libFuzzer harness for supervisor/multipart.c.  The input is a Content-Type
 * value, a newline, then the body: both halves of an admin upload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks that every view the parser returned lies inside the body. */
static void
fuzz_check_views(const struct multipart *mp, const char *body, size_t len)
{
	for (size_t i = 0; i < mp->count; i++) {
		const struct multipart_part *p = &mp->parts[i];

		if (p->name == NULL || p->name_len == 0 || p->name < body ||
		    p->name + p->name_len > body + len)
			abort();
		if (p->data < body || p->data + p->len > body + len)
			abort();
		if (p->filename != NULL &&
		    (p->filename < body || p->filename + p->filename_len > body + len))
			abort();
		if (p->content_type != NULL &&
		    (p->content_type < body || p->content_type + p->content_type_len > body + len))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct multipart mp;
	char boundary[MULTIPART_BOUNDARY_MAX + 1] = "b";
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ct_len = nl != NULL ? (size_t)(nl - data) : 0;
	const char *why;
	char *ct, *body;
	size_t len;

	if ((ct = malloc(ct_len + 1)) == NULL)
		return 0;
	memcpy(ct, data, ct_len);
	ct[ct_len] = '\0';
	if (multipart_boundary(ct, boundary, sizeof(boundary), &why) == -1)
		strcpy(boundary, "b");
	free(ct);

	/* An exactly sized copy, so that any overread is caught. */
	len = nl != NULL ? size - ct_len - 1 : size;
	if ((body = malloc(len > 0 ? len : 1)) == NULL)
		return 0;
	memcpy(body, nl != NULL ? nl + 1 : data, len);
	if (multipart_parse(body, len, boundary, &mp, &why) == 0)
		fuzz_check_views(&mp, body, len);
	free(body);
	return 0;
}
