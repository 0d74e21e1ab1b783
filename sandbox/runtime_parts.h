/*
 * runtime_parts: the sdk-js runtime as Duktape bytecode, generated at build
 * time by sdk-js/jsc.c (runtime_bytecode.c) and loaded by sandbox/host.c.
 */
#ifndef EDGED_RUNTIME_PARTS_H
#define EDGED_RUNTIME_PARTS_H

#include <stddef.h>

/*
 * One runtime file, compiled as the body of `function (native, rt) { ... }`:
 * `native` holds the host's C functions and `rt` is the object the parts
 * share with each other and with the host.  Loaded and called in `parts`
 * order (sorted file names).  Static data; nothing to free.
 */
struct sandbox_runtime_part {
	const char *name;          /* file name without directory, e.g. "00-promise.js" */
	const unsigned char *code; /* duk_dump_function() output */
	size_t len;
};

extern const struct sandbox_runtime_part sandbox_runtime_parts[];
extern const size_t sandbox_runtime_part_count;

#endif
