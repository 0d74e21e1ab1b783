/*
 * alloc: the capped allocator behind a sandbox's Duktape heap.  Over the cap
 * an allocation fails and Duktape raises a RangeError in the running JS.
 * Runs in the launcher (heap set-up) and sandboxes.
 */
#ifndef EDGED_ALLOC_H
#define EDGED_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alloc {
	uint64_t cap;    /* bytes; 0 means no cap */
	uint64_t used;   /* bytes currently allocated, headers included */
	uint64_t live;   /* `used` after the last full collection, lowered as frees pass it */
	uint64_t allocs; /* allocations since the last full collection */
	bool hit_cap;    /* an allocation was refused since alloc_clear_hit */
};

void alloc_init(struct alloc *a, uint64_t cap);

/*
 * Records that a full collection has just ended: what is allocated now is
 * live, and the count of allocations starts again.
 */
void alloc_collected(struct alloc *a);

/*
 * Bytes allocated since the last full collection beyond what was live then:
 * an upper bound on the garbage that only a collection can free (cycles).
 * Lowers the live mark first when reference counting has freed below it.
 */
uint64_t alloc_growth(struct alloc *a);

/*
 * Duktape allocation functions; udata is the struct sandbox_runtime whose
 * `alloc` member is charged.  They follow Duktape's contract: malloc(0) and
 * realloc(p, 0) may return NULL, free(NULL) is a no-op.
 */
void *alloc_malloc(void *udata, size_t size);
void *alloc_realloc(void *udata, void *ptr, size_t size);
void alloc_free(void *udata, void *ptr);

/* True when an allocation was refused since the last alloc_clear_hit. */
bool alloc_hit_cap(const struct alloc *a);
void alloc_clear_hit(struct alloc *a);

#endif
