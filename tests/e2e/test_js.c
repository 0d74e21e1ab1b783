/*
 * End to end: the JS test suites in tests/js/, each run inside a real edged
 * sandbox.  Every tests/js/NAME.test.js is deployed, after tests/js/
 * prelude.js, as a module worker with a plain_text binding SUITE = file
 * name; its answer lists what passed and what failed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define JS_DIR EDGED_SOURCE_DIR "/tests/js"

static int
is_suite(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 8 && strcmp(d->d_name + n - 8, ".test.js") == 0;
}

/* Deploys one suite and checks its report; returns the number of failures. */
static int
run_suite(struct edged *e, const char *prelude, const char *file, int index)
{
	char path[512], worker[64], host[96], bindings[256];
	struct response r;
	json_t *report, *failed, *it;
	char *body, *script;
	size_t i;
	int nfailed;

	snprintf(path, sizeof(path), "%s/%s", JS_DIR, file);
	body = harness_read_file(path);
	if (asprintf(&script, "%s\n%s\n", prelude, body) < 0)
		cr_assert_fail("out of memory");
	free(body);
	snprintf(worker, sizeof(worker), "suite%d", index);
	snprintf(host, sizeof(host), "suite%d.test", index);
	snprintf(bindings, sizeof(bindings),
	    "[{\"type\":\"plain_text\",\"name\":\"SUITE\",\"text\":\"%s\"}]", file);
	deploy(e, "js", worker, host, script, bindings);
	free(script);

	r = http_do("GET", e->public_addr, "/", host, NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200, "%s: status %ld: %s", file, r.status, r.body);
	report = json_loads(r.body, 0, NULL);
	if (r.status != 200 || report == NULL) {
		response_free(&r);
		json_decref(report);
		return 1;
	}
	failed = json_object_get(report, "failed");
	nfailed = (int)json_array_size(failed);
	fprintf(stderr, "js %s: %lld passed, %d failed\n", file,
	    (long long)json_integer_value(json_object_get(report, "passed")), nfailed);
	json_array_foreach (failed, i, it)
		cr_expect(false, "%s: '%s': %s", file,
		    json_string_value(json_object_get(it, "name")),
		    json_string_value(json_object_get(it, "message")));
	json_decref(report);
	response_free(&r);
	return nfailed;
}

Test(js, every_suite_passes_inside_a_sandbox, .timeout = 240)
{
	struct dirent **names;
	struct edged *e;
	char *prelude;
	int n, failures = 0;

	n = scandir(JS_DIR, &names, is_suite, alphasort);
	cr_assert_gt(n, 0, "no suites in %s", JS_DIR);
	prelude = harness_read_file(JS_DIR "/prelude.js");
	e = edged_start("cpu_ms = 2000\nwall_ms = 60000\nstartup_cpu_ms = 5000\n");
	admin_create_tenant(e, "js");
	for (int i = 0; i < n; i++) {
		failures += run_suite(e, prelude, names[i]->d_name, i);
		free(names[i]);
	}
	free(names);
	free(prelude);
	edged_free(e);
	cr_expect_eq(failures, 0, "%d JS tests failed", failures);
}
