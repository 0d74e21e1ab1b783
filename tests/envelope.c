/*
 * envelope: checking and reading the admin API's v4 envelope in the test
 * suites (linked into every unit and end-to-end test executable).
 */
#include "tests/envelope.h"

#include <criterion/criterion.h>

json_t *
envelope_check(const char *what, long status, const char *body, size_t len, long want_status)
{
	json_t *env;

	cr_assert_eq(status, want_status, "%s: %ld, expected %ld: %.*s", what, status, want_status,
	    (int)len, body);
	env = json_loadb(body, len, 0, NULL);
	cr_assert_not_null(env, "%s: not JSON: %.*s", what, (int)len, body);
	cr_assert(
	    json_is_boolean(json_object_get(env, "success")), "%s: %.*s", what, (int)len, body);
	cr_assert(json_is_array(json_object_get(env, "errors")), "%s: %.*s", what, (int)len, body);
	cr_assert(
	    json_is_array(json_object_get(env, "messages")), "%s: %.*s", what, (int)len, body);
	cr_assert_not_null(json_object_get(env, "result"), "%s: %.*s", what, (int)len, body);
	cr_assert_eq(json_is_true(json_object_get(env, "success")), want_status == 200, "%s: %.*s",
	    what, (int)len, body);
	return env;
}

json_t *
envelope_result(json_t *env)
{
	return json_object_get(env, "result");
}

int
envelope_error_code(json_t *env)
{
	return (int)json_integer_value(
	    json_object_get(json_array_get(json_object_get(env, "errors"), 0), "code"));
}

const char *
envelope_error_message(json_t *env)
{
	const char *m = json_string_value(
	    json_object_get(json_array_get(json_object_get(env, "errors"), 0), "message"));

	return m != NULL ? m : "";
}
