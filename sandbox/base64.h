/*
 * base64 for atob/btoa: common/base64.h's codec (btoa encodes with
 * base64_encode), and the HTML/Infra "forgiving base64 decode" that atob
 * accepts, on top of its decoder.  Pure functions; run in sandboxes.
 */
#ifndef EDGED_BASE64_H
#define EDGED_BASE64_H

#include <stddef.h>

#include "common/base64.h"

/*
 * Forgiving-base64-decodes in[0..n): ASCII whitespace is ignored, padding
 * is optional but must be right when present, and stray bits are dropped.
 * `out` holds at least n * 3 / 4 + 3 bytes.  Returns 0 with *out_len set,
 * or -1 when the input is not valid (nothing meaningful is in `out`).
 */
int base64_decode_forgiving(const char *in, size_t n, unsigned char *out, size_t *out_len);

#endif
