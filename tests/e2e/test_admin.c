/*
 * End to end: the admin API — authentication, uploads, versions, routes and
 * persistence across a restart.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>

#include "harness.h"

static struct edged *e;

static void
setup(void)
{
	e = edged_start(NULL);
}

static void
teardown(void)
{
	edged_free(e);
}

TestSuite(admin, .init = setup, .fini = teardown, .timeout = 120);

#define HELLO(text)                                                                                \
	"var __worker = { default: { fetch: function () { return new Response('" text "'); } } };"

Test(admin, missing_or_wrong_token_is_401_without_data)
{
	struct response r;

	admin_create_tenant(e, "acme");
	r = http_do("GET", e->admin_addr, "/client/v4/accounts/acme/workers/scripts", NULL, NULL,
	    NULL, NULL, 0);
	cr_expect_eq(r.status, 401);
	cr_expect_null(strstr(r.body, "\"result\":["));
	response_free(&r);
	r = http_do("GET", e->admin_addr, "/client/v4/accounts/acme/workers/scripts", NULL,
	    "wrong-token", NULL, NULL, 0);
	cr_expect_eq(r.status, 401);
	cr_expect(strstr(r.body, "\"success\":false") != NULL, "%s", r.body);
	response_free(&r);
	r = http_do(
	    "PUT", e->admin_addr, "/edged/v1/tenants/evil", NULL, "wrong-token", NULL, NULL, 0);
	cr_expect_eq(r.status, 401);
	response_free(&r);
	r = http_do("GET", e->admin_addr, "/healthz", NULL, NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	response_free(&r);
}

Test(admin, bad_metadata_is_400_with_a_message)
{
	static const char body[] =
	    "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{not json\r\n"
	    "--b\r\nContent-Disposition: form-data; name=\"worker.js\"\r\n\r\nvar x;\r\n--b--\r\n";
	struct response r;

	admin_create_tenant(e, "acme");
	r = http_do("PUT", e->admin_addr, "/client/v4/accounts/acme/workers/scripts/w", NULL,
	    TEST_TOKEN, "multipart/form-data; boundary=b", body, sizeof(body) - 1);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "\"message\"") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "\"success\":false") != NULL, "%s", r.body);
	response_free(&r);
}

Test(admin, syntax_error_is_400_with_the_line)
{
	struct response r;

	admin_create_tenant(e, "acme");
	r = admin_upload_module(e, "acme", "broken", "var a = 1;\nvar b = 2;\nvar c = ;\n", NULL);
	cr_expect_eq(r.status, 400);
	cr_expect(
	    strstr(r.body, "(line 3, column 9)") != NULL, "no line and column in: %s", r.body);
	cr_expect(strstr(r.body, "SyntaxError") != NULL, "no message in: %s", r.body);
	response_free(&r);

	/* A global scope that throws is rejected too, and so is an endless one. */
	r = admin_upload_module(e, "acme", "thrower", "throw new Error('at startup');", NULL);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "at startup") != NULL, "%s", r.body);
	response_free(&r);
	r = admin_upload_module(e, "acme", "spinner", "while (true) {}", NULL);
	cr_expect_eq(r.status, 400, "%s", r.body);
	response_free(&r);
}

Test(admin, a_new_version_takes_effect_and_versions_are_listed)
{
	struct response r;
	json_t *j;

	deploy(e, "acme", "site", "acme.test", HELLO("v1"), NULL);
	r = http_do("GET", e->public_addr, "/", "acme.test", NULL, NULL, NULL, 0);
	cr_expect_str_eq(r.body, "v1");
	response_free(&r);

	r = admin_upload_module(e, "acme", "site", HELLO("v2"), NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	response_free(&r);
	r = http_do("GET", e->public_addr, "/", "acme.test", NULL, NULL, NULL, 0);
	cr_expect_str_eq(r.body, "v2");
	response_free(&r);

	r = http_do("GET", e->admin_addr, "/client/v4/accounts/acme/workers/scripts/site/versions",
	    NULL, TEST_TOKEN, NULL, NULL, 0);
	cr_assert_eq(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	cr_assert_not_null(j, "%s", r.body);
	cr_expect_eq(json_array_size(json_object_get(json_object_get(j, "result"), "items")), 2);
	json_decref(j);
	response_free(&r);
}

Test(admin, script_list_delete_and_route_conflict)
{
	struct response r;

	deploy(e, "acme", "site", "shared.test", HELLO("acme"), NULL);
	admin_create_tenant(e, "other");
	r = admin_upload_module(e, "other", "site", HELLO("other"), NULL);
	cr_assert_eq(r.status, 200);
	response_free(&r);
	r = admin_add_route(e, "other", "shared.test/api/*", "site");
	cr_expect_eq(r.status, 409, "another tenant claimed the host: %s", r.body);
	response_free(&r);

	r = http_do("GET", e->admin_addr, "/client/v4/accounts/acme/workers/scripts", NULL,
	    TEST_TOKEN, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "\"site\"") != NULL, "%s", r.body);
	response_free(&r);

	r = http_do("DELETE", e->admin_addr, "/client/v4/accounts/acme/workers/scripts/site", NULL,
	    TEST_TOKEN, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	response_free(&r);
	r = http_do("GET", e->public_addr, "/", "shared.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 404);
	response_free(&r);
}

Test(admin, restart_keeps_scripts_and_routes)
{
	struct response r;

	deploy(e, "acme", "site", "keep.test", HELLO("still here"), NULL);
	cr_expect_eq(edged_stop(e), 0);
	edged_restart(e);
	r = http_do("GET", e->public_addr, "/", "keep.test", NULL, NULL, NULL, 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "still here");
	response_free(&r);
}
