/*
 * syntax: where in a script a syntax error is.  Duktape reports only the
 * line; the column is found by compiling prefixes of the script.  Runs in
 * sandboxes (at LOAD, only when the compile failed).
 */
#ifndef EDGED_SYNTAX_H
#define EDGED_SYNTAX_H

#include <stddef.h>

#include "duktape.h"

/* Scripts above this size get no column: the search would cost too much. */
#define SYNTAX_COLUMN_MAX_SOURCE (256u << 10)

/*
 * The 1-based column (in characters) of the syntax error that Duktape
 * reported on `line` of src[0..len), or 0 when it cannot be found.  The
 * column points at the offending token or the one right after it: Duktape
 * notices an error when it reads the next token.  Leaves the value stack as
 * it found it; may be stopped by the CPU budget (then 0).
 */
unsigned syntax_error_column(duk_context *ctx, const char *src, size_t len, unsigned line);

/*
 * Strips Duktape's position suffix (" (line 3)", " (line 3, end of input)")
 * from an error message in place.
 */
void syntax_strip_position(char *message);

#endif
