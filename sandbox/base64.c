/*
 * base64: the forgiving decode of the HTML standard, for atob
 * (sandbox/native_url.c), as a reading of common/base64.c's decoder; btoa
 * uses its encoder as it is.  Runs in sandboxes.
 */
#include "sandbox/base64.h"

int
base64_decode_forgiving(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	/*
	 * Infra's algorithm: strip ASCII whitespace; drop one or two final '='
	 * only from a length that divides by four; refuse a remainder of one
	 * and anything outside the alphabet; discard the bits left over.
	 */
	return base64_decode(in, n, BASE64_SKIP_SPACE | BASE64_EXACT_PAD, out, out_len);
}
