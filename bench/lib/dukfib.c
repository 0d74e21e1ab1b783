/*
 * bench/lib/dukfib.c: fib(25) on the raw Duktape engine, built from the same
 * libduktape.a and duk_config.h as edged (interrupt counter and fastint on),
 * with none of edged's runtime: the floor the fib worker is compared with.
 *
 * Usage: dukfib SOURCE.js N
 * SOURCE.js is a classic script that defines a global function bench()
 * returning fib(25); prints one JSON line with the min and median CPU
 * milliseconds (CLOCK_PROCESS_CPUTIME_ID, as the server CPU edged is charged
 * with) of N calls of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "duktape.h"

/* edged's duk_config.h routes these to the sandbox (sandbox/budget.c). */
duk_bool_t edged_duk_exec_timeout_check(void *udata);
void edged_duk_fatal(void *udata, const char *msg);

duk_bool_t
edged_duk_exec_timeout_check(void *udata)
{
	(void)udata;
	return 0;
}

void
edged_duk_fatal(void *udata, const char *msg)
{
	(void)udata;
	fprintf(stderr, "dukfib: duktape fatal error: %s\n", msg);
	abort();
}

static double
dukfib_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
dukfib_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	duk_context *ctx;
	double *ms;
	int n, i, result = 0;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: dukfib SOURCE.js N\n");
		return 1;
	}
	ms = calloc((size_t)n, sizeof(*ms));
	ctx = duk_create_heap_default();
	if (ms == NULL || ctx == NULL)
		return 1;
	{
		FILE *f = fopen(argv[1], "r");
		char *src;
		long len;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
			fprintf(stderr, "dukfib: cannot read '%s'\n", argv[1]);
			return 1;
		}
		rewind(f);
		src = malloc((size_t)len + 1);
		if (src == NULL || fread(src, 1, (size_t)len, f) != (size_t)len)
			return 1;
		src[len] = '\0';
		fclose(f);
		if (duk_peval_string_noresult(ctx, src) != 0) {
			fprintf(stderr, "dukfib: '%s' does not run\n", argv[1]);
			return 1;
		}
		free(src);
	}
	for (i = 0; i < n; i++) {
		double t0 = dukfib_cpu_ms();

		duk_eval_string(ctx, "bench()");
		ms[i] = dukfib_cpu_ms() - t0;
		result = duk_get_int(ctx, -1);
		duk_pop(ctx);
	}
	qsort(ms, (size_t)n, sizeof(*ms), dukfib_cmp);
	printf("{\"n\":%d,\"fib25\":%d,\"min_ms\":%.3f,\"median_ms\":%.3f}\n", n, result, ms[0],
	    ms[n / 2]);
	duk_destroy_heap(ctx);
	free(ms);
	return result == 75025 ? 0 : 1;
}
