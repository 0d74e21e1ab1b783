/*
 * hex: hexadecimal digits, read and written.  Pure functions, linked into
 * every process.
 */
#ifndef EDGED_HEX_H
#define EDGED_HEX_H

#include <stddef.h>

/* The value of the hex digit c (either case): 0 to 15, or -1 for any other byte. */
int hex_value(int c);

/*
 * Writes in[0..n) as 2 * n lowercase hex digits to out and NUL-terminates
 * it: out holds 2 * n + 1 bytes.
 */
void hex_encode(const void *in, size_t n, char *out);

#endif
