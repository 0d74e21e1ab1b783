/*
 * Tests of sandbox/gc.c and the Duktape configuration it relies on: no
 * mark-and-sweep runs while a task's budget is armed (voluntary collection
 * is compiled out), collections between tasks free the cycles reference
 * counting leaves, the emergency collection still runs at the memory cap,
 * and the pace of collections follows the heap's growth and the tasks' CPU.
 * The heaps are real sandbox runtimes, built in the test process.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>

#include "sandbox/alloc.h"
#include "sandbox/budget.h"
#include "sandbox/gc.h"
#include "sandbox/host.h"
#include "sandbox/sandbox.h"

#define MiB (1024u * 1024u)
#define TASK_NS (30ull * 1000000000ull) /* no test task comes near it */

TestSuite(gc, .timeout = 60);

static struct sandbox_runtime *
runtime(uint64_t cap)
{
	struct sandbox_limits limits = { .memory_bytes = cap };
	struct sandbox_runtime *rt = sandbox_runtime_new(&limits);

	cr_assert_not_null(rt, "cannot build a sandbox runtime");
	return rt;
}

/* Runs `src` as one task: under an armed budget, as serve_task does; true when it did not throw. */
static bool
task(struct sandbox_runtime *rt, const char *src)
{
	bool ok;

	alloc_clear_hit(&rt->alloc);
	budget_start(&rt->budget, TASK_NS);
	ok = duk_peval_string(rt->ctx, src) == 0;
	budget_stop(&rt->budget);
	duk_pop(rt->ctx);
	return ok;
}

/* Some MiB of objects that only refer to themselves: only a mark-and-sweep frees them. */
static const char make_cycles[] = "(function () {\n"
				  "  for (var i = 0; i < 20000; i++) {\n"
				  "    var o = { pad: [i, i, i, i, i, i, i, i] };\n"
				  "    o.self = o;\n"
				  "  }\n"
				  "})();\n";

/*
 * Millions of allocations whose garbage reference counting frees at once:
 * far past the allocation count after which Duktape's voluntary collection
 * would run (about 50 per object and string the heap keeps).
 */
static const char churn[] = "(function () {\n"
			    "  var o;\n"
			    "  for (var i = 0; i < 1500000; i++)\n"
			    "    o = { n: i };\n"
			    "})();\n";

Test(gc, no_collection_inside_a_task)
{
	struct sandbox_runtime *rt = runtime(256u * MiB);
	struct gc g;
	uint64_t with_cycles, after_churn;

	gc_init(&g);
	cr_assert(task(rt, make_cycles));
	with_cycles = rt->alloc.used;
	cr_assert(task(rt, churn));
	after_churn = rt->alloc.used;
	/* A collection during the churn would have freed the cycles. */
	cr_assert_geq(after_churn + MiB, with_cycles,
	    "a collection ran inside a task: %llu bytes before the churn, %llu after",
	    (unsigned long long)with_cycles, (unsigned long long)after_churn);
	/* Between tasks it runs, and frees them: the check above could see one. */
	gc_collect(&g, rt);
	cr_assert_eq(g.runs, 1);
	cr_assert_leq(rt->alloc.used + 4 * MiB, after_churn,
	    "the collection freed too little: %llu bytes before, %llu after",
	    (unsigned long long)after_churn, (unsigned long long)rt->alloc.used);
	cr_assert_eq(rt->alloc.live, rt->alloc.used);
	sandbox_runtime_free(rt);
}

/* Ten times a 16 MiB cap in cycles. */
static const char many_cycles[] = "(function () {\n"
				  "  for (var i = 0; i < 400000; i++) {\n"
				  "    var o = { pad: [i, i, i, i, i, i, i, i] };\n"
				  "    o.self = o;\n"
				  "  }\n"
				  "})();\n";

/* As much, all kept alive. */
static const char all_kept[] = "var kept = [];\n"
			       "for (var i = 0; i < 400000; i++)\n"
			       "  kept.push({ pad: [i, i, i, i, i, i, i, i] });\n";

Test(gc, emergency_collection_at_the_cap)
{
	struct sandbox_runtime *rt = runtime(16u * MiB);

	/* In one task: the allocator's refusals make Duktape collect. */
	cr_assert(task(rt, many_cycles), "cyclic garbage past the cap was not collected");
	cr_assert(alloc_hit_cap(&rt->alloc), "the cap was never reached");
	cr_assert_leq(rt->alloc.used, rt->alloc.cap);
	sandbox_runtime_free(rt);
}

Test(gc, live_data_past_the_cap_is_still_refused)
{
	struct sandbox_runtime *rt = runtime(16u * MiB);

	cr_assert_not(task(rt, all_kept));
	cr_assert(alloc_hit_cap(&rt->alloc));
	cr_assert_leq(rt->alloc.used, rt->alloc.cap);
	sandbox_runtime_free(rt);
}

Test(gc, due_after_growth)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 0);
	alloc_collected(&a);
	a.used += GC_GROWTH_MIN - 1;
	cr_assert_not(gc_is_due(&g, &a));
	a.used++;
	cr_assert(gc_is_due(&g, &a));
}

Test(gc, due_after_allocations)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 0);
	alloc_collected(&a);
	a.allocs = GC_ALLOCS_MIN - 1;
	cr_assert_not(gc_is_due(&g, &a));
	a.allocs++;
	cr_assert(gc_is_due(&g, &a), "many small allocations never make a collection due");
	alloc_collected(&a);
	cr_assert_eq(a.allocs, 0);
}

Test(gc, allocations_are_counted)
{
	struct sandbox_runtime *rt = runtime(64u * MiB);
	struct gc g;

	gc_init(&g);
	gc_collect(&g, rt);
	cr_assert_eq(rt->alloc.allocs, 0);
	cr_assert(task(rt, "var kept = []; for (var i = 0; i < 1000; i++) kept.push({});"));
	cr_assert_geq(rt->alloc.allocs, 1000);
	sandbox_runtime_free(rt);
}

Test(gc, growth_in_proportion_to_the_live_heap)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 0);
	a.used = 64 * MiB;
	alloc_collected(&a);
	a.used += 32 * MiB - 1;
	cr_assert_not(gc_is_due(&g, &a), "a big live heap is collected as often as a small one");
	a.used++;
	cr_assert(gc_is_due(&g, &a));
}

Test(gc, due_before_the_cap)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 40 * MiB);
	a.used = 30 * MiB;
	alloc_collected(&a);
	/* Half the live heap is 15 MiB, but only 10 MiB are left: due at half of those. */
	a.used += 5 * MiB - 1;
	cr_assert_not(gc_is_due(&g, &a));
	a.used++;
	cr_assert(gc_is_due(&g, &a), "the room left under the cap is not taken into account");
}

Test(gc, paced_by_the_cpu_of_tasks)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 0);
	alloc_collected(&a);
	a.used = 8 * GC_GROWTH_MIN;
	g.last_ns = 5000000; /* the last collection took 5 ms */
	gc_charge(&g, 4999999);
	cr_assert_not(gc_is_due(&g, &a), "collections may take more CPU than the tasks");
	cr_assert_not(gc_is_due_idle(&g, &a));
	gc_charge(&g, 1);
	cr_assert(gc_is_due(&g, &a));
	cr_assert(gc_is_due_idle(&g, &a));
}

Test(gc, frees_lower_the_live_mark)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 0);
	a.used = 16 * MiB;
	alloc_collected(&a);
	/* Reference counting freed 8 MiB of what was live, then new garbage came. */
	a.used = 8 * MiB;
	cr_assert_eq(alloc_growth(&a), 0);
	cr_assert_eq(a.live, 8 * MiB);
	a.used += GC_GROWTH_MIN;
	cr_assert(gc_is_due(&g, &a), "growth counted from a live mark that was never lowered");
}

Test(gc, idle_needs_less_growth)
{
	struct alloc a;
	struct gc g;

	gc_init(&g);
	alloc_init(&a, 0);
	alloc_collected(&a);
	a.used = GC_IDLE_GROWTH_MIN - 1;
	cr_assert_not(gc_is_due_idle(&g, &a));
	a.used++;
	cr_assert(gc_is_due_idle(&g, &a));
	cr_assert_not(gc_is_due(&g, &a));
}
