/*
 * utf8: well-formed UTF-8 as RFC 3629 has it (no overlong forms, no
 * surrogates, nothing past U+10FFFF, no cut sequences): checked, decoded
 * and repaired.  Pure functions, linked into every process.
 */
#ifndef EDGED_UTF8_H
#define EDGED_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The well-formed sequence at s[0..n), n > 0: its length (1 to 4), with
 * *cp, when cp is not NULL, its code point.  0 when s does not start one;
 * then *bad, when bad is not NULL, is the length of the maximal ill-formed
 * subpart at s (1 to 3): the bytes one U+FFFD stands for in the Encoding
 * Standard's decoder.
 */
size_t utf8_sequence(const uint8_t *s, size_t n, uint32_t *cp, size_t *bad);

/* True when s[0..n) is well-formed UTF-8 throughout. */
bool utf8_is_valid(const void *s, size_t n);

/*
 * Replaces, in place, each byte of s[0..n) that does not start a
 * well-formed sequence with '?', which leaves valid UTF-8 of the same
 * length (for messages built from untrusted bytes).
 */
void utf8_scrub(char *s, size_t n);

#endif
