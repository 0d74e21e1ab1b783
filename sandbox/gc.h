/*
 * gc: when a sandbox's Duktape heap is collected.  Duktape's voluntary
 * mark-and-sweep is compiled out (cmake/duk_config.cmake): it ran inside
 * whichever allocation crossed its trigger and charged the whole heap's
 * collection to that request.  Reference counting frees most garbage at
 * once; the cycles it leaves are collected here, between tasks and when the
 * sandbox is idle, outside every CPU budget.  Duktape's emergency collection,
 * inside an allocation that would pass the memory cap, is the backstop.
 * Runs in sandboxes.
 */
#ifndef EDGED_GC_H
#define EDGED_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "sandbox/alloc.h"

struct sandbox_runtime;

/*
 * A collection walks the whole heap (0.3 ms for the bare runtime's 2.3 MiB
 * with a warm cache, several times that without), then frees the garbage:
 * about 1.5 us a KiB of small objects, next to nothing for big buffers.  The
 * allocation count bounds the small garbage, hence the pause (a few ms: 500
 * hello-world requests' worth, against 35 MiB under Duktape's own trigger);
 * the growth bounds the memory that garbage of big buffers (a streamed body)
 * holds, without a walk per request.
 */
#define GC_ALLOCS_MIN 131072            /* allocations that make a collection due */
#define GC_GROWTH_MIN (32u << 20)       /* growth that makes a collection due */
#define GC_IDLE_GROWTH_MIN (256u << 10) /* growth worth a collection when idle */
#define GC_IDLE_MS 1000                 /* time without a task after which the sandbox is idle */

struct gc {
	uint64_t last_ns;   /* CPU the last collection took */
	uint64_t credit_ns; /* CPU tasks used under their budgets since then */
	uint64_t runs;      /* collections gc_collect ran */
	uint64_t total_ns;  /* the CPU they took */
};

void gc_init(struct gc *g);

/* Counts `ns` of CPU that a task used under its budget. */
void gc_charge(struct gc *g, uint64_t ns);

/*
 * Whether a collection is due between tasks: since the last one there were
 * enough allocations to make garbage worth the walk (GC_ALLOCS_MIN, or one
 * per 32 bytes of live heap), or the heap grew by half its live size (at
 * least GC_GROWTH_MIN; at most half the room left under the cap, so that it
 * runs before the emergency one would); and tasks have used at least as much
 * CPU since the last collection as it took.  That pace keeps collections to
 * at most half of the sandbox's CPU however big its live heap; past it,
 * garbage waits for the next due collection or, at the cap, for the
 * emergency one.  May lower the live mark of `a` (alloc_growth).
 */
bool gc_is_due(const struct gc *g, struct alloc *a);

/* The same for an idle sandbox: growth of GC_IDLE_GROWTH_MIN is enough. */
bool gc_is_due_idle(const struct gc *g, struct alloc *a);

/*
 * Runs a full mark-and-sweep of the heap of `rt` now.  Only between tasks:
 * never while JS runs or a budget is armed.  The CPU it takes is no
 * request's; the sandbox's process CPU clock, which the supervisor reads for
 * recycle_after_cpu_s and its hard limit, counts it like any other.
 */
void gc_collect(struct gc *g, struct sandbox_runtime *rt);

#endif
