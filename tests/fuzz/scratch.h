/*
 * scratch: scratch folders for the fuzz harnesses that need a real data
 * folder, on tmpfs when there is one.  Linked into those harnesses only.
 */
#ifndef EDGED_FUZZ_SCRATCH_H
#define EDGED_FUZZ_SCRATCH_H

#include <stddef.h>

/*
 * Creates "<tmp>/edged-fuzz-<tag>-<pid>-XXXXXX" into dir (size bytes) and
 * returns 0, or -1 with dir "".  First removes the folders of that tag left
 * by harnesses that died (a crash skips atexit): those whose pid is gone.
 */
int scratch_make(const char *tag, char *dir, size_t size);

/* Removes dir and everything under it; accepts "". */
void scratch_remove(const char *dir);

#endif
