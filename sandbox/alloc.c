/*
 * alloc: a size-tracking malloc wrapper for Duktape; each block carries its
 * size in a header so frees and reallocs can be accounted.  Runs in sandboxes.
 */
#include "sandbox/alloc.h"

#include <stddef.h>
#include <stdlib.h>

#include "sandbox/host.h"

/* The header keeps the payload aligned for any type. */
#define ALLOC_HEADER (sizeof(max_align_t))

void
alloc_init(struct alloc *a, uint64_t cap)
{
	a->cap = cap;
	a->used = 0;
	a->live = 0;
	a->allocs = 0;
	a->hit_cap = false;
}

void
alloc_collected(struct alloc *a)
{
	a->live = a->used;
	a->allocs = 0;
}

uint64_t
alloc_growth(struct alloc *a)
{
	if (a->used < a->live)
		a->live = a->used;
	return a->used - a->live;
}

static struct alloc *
alloc_of(void *udata)
{
	return &((struct sandbox_runtime *)udata)->alloc;
}

static bool
alloc_fits(struct alloc *a, size_t more)
{
	if (a->cap == 0 || (a->used <= a->cap && more <= a->cap - a->used))
		return true;
	a->hit_cap = true;
	return false;
}

static size_t
alloc_size_of(void *ptr)
{
	return *(size_t *)((unsigned char *)ptr - ALLOC_HEADER);
}

void *
alloc_malloc(void *udata, size_t size)
{
	struct alloc *a = alloc_of(udata);
	unsigned char *p;

	if (size == 0 || size > SIZE_MAX - ALLOC_HEADER || !alloc_fits(a, size + ALLOC_HEADER))
		return NULL;
	if ((p = malloc(size + ALLOC_HEADER)) == NULL)
		return NULL;
	*(size_t *)p = size;
	a->used += size + ALLOC_HEADER;
	a->allocs++;
	return p + ALLOC_HEADER;
}

void *
alloc_realloc(void *udata, void *ptr, size_t size)
{
	struct alloc *a = alloc_of(udata);
	unsigned char *p;
	size_t old;

	if (ptr == NULL)
		return alloc_malloc(udata, size);
	if (size == 0) {
		alloc_free(udata, ptr);
		return NULL;
	}
	old = alloc_size_of(ptr);
	if (size > SIZE_MAX - ALLOC_HEADER || (size > old && !alloc_fits(a, size - old)))
		return NULL;
	if ((p = realloc((unsigned char *)ptr - ALLOC_HEADER, size + ALLOC_HEADER)) == NULL)
		return NULL;
	*(size_t *)p = size;
	a->used = a->used - old + size;
	return p + ALLOC_HEADER;
}

void
alloc_free(void *udata, void *ptr)
{
	struct alloc *a = alloc_of(udata);
	unsigned char *p;

	if (ptr == NULL)
		return;
	p = (unsigned char *)ptr - ALLOC_HEADER;
	a->used -= *(size_t *)p + ALLOC_HEADER;
	free(p);
}

bool
alloc_hit_cap(const struct alloc *a)
{
	return a->hit_cap;
}

void
alloc_clear_hit(struct alloc *a)
{
	a->hit_cap = false;
}
