/*
 * gc: the pace of a sandbox's full collections, run between tasks and when
 * idle instead of inside whichever request allocates.  Runs in sandboxes.
 */
#include "sandbox/gc.h"

#include <assert.h>

#include "sandbox/budget.h"
#include "sandbox/host.h"

void
gc_init(struct gc *g)
{
	g->last_ns = 0;
	g->credit_ns = 0;
	g->runs = 0;
	g->total_ns = 0;
}

void
gc_charge(struct gc *g, uint64_t ns)
{
	g->credit_ns += ns;
}

/* The growth that makes a collection due between tasks (see gc_is_due). */
static uint64_t
gc_growth_trigger(const struct alloc *a)
{
	uint64_t trigger = a->live / 2 > GC_GROWTH_MIN ? a->live / 2 : GC_GROWTH_MIN;

	if (a->cap > a->live && trigger > (a->cap - a->live) / 2)
		trigger = (a->cap - a->live) / 2;
	return trigger;
}

/* The allocations that make a collection due between tasks (see gc_is_due). */
static uint64_t
gc_allocs_trigger(const struct alloc *a)
{
	return a->live / 32 > GC_ALLOCS_MIN ? a->live / 32 : GC_ALLOCS_MIN;
}

/* Whether tasks have used as much CPU since the last collection as it took. */
static bool
gc_is_paced(const struct gc *g)
{
	return g->credit_ns >= g->last_ns;
}

bool
gc_is_due(const struct gc *g, struct alloc *a)
{
	uint64_t growth = alloc_growth(a); /* first: it may lower the live mark */

	if (!gc_is_paced(g))
		return false;
	return a->allocs >= gc_allocs_trigger(a) || growth >= gc_growth_trigger(a);
}

bool
gc_is_due_idle(const struct gc *g, struct alloc *a)
{
	return alloc_growth(a) >= GC_IDLE_GROWTH_MIN && gc_is_paced(g);
}

void
gc_collect(struct gc *g, struct sandbox_runtime *rt)
{
	uint64_t start, end;

	assert(!rt->budget.running);
	start = budget_now_ns();
	duk_gc(rt->ctx, 0);
	end = budget_now_ns();
	g->last_ns = end > start ? end - start : 0;
	g->credit_ns = 0;
	g->runs++;
	g->total_ns += g->last_ns;
	alloc_collected(&rt->alloc);
}
