/*
 * test_route: the route table -- pattern validity, host and path matching,
 * and which route wins when several match.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "supervisor/route.h"

Test(route, valid_patterns)
{
	static const char *const good[] = {
		"example.com/*",
		"*.example.com/*",
		"*example.com/*",
		"example.com/api/*",
		"example.com/",
		"example.com/exact",
		"EXAMPLE.com/A",
		"a.b.c.example.com/x*",
		"localhost/*",
		"my-site_1.example.org/%20x/*",
		"127.0.0.1/*",
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = "unset";
		cr_expect(route_pattern_is_valid(good[i], &why), "'%s' rejected: %s", good[i], why);
		cr_expect_null(why, "'%s': why set on success", good[i]);
	}
}

Test(route, invalid_patterns)
{
	static const char *const bad[] = {
		"",
		"example.com",
		"*.example.com",
		"http://example.com/*",
		"https://example.com/*",
		"example.com:8080/*",
		"example.com/a?b=1",
		"example.com/a#f",
		"exa mple.com/*",
		"example.com/a b",
		"example.com/*/x",
		"ex*ample.com/*",
		"example.*.com/*",
		"*/*",
		"*./*",
		"/*",
		"example..com/*",
		"example.com./*",
		".example.com/*",
		"**.example.com/*",
		"example.com/\t",
		"user@example.com/*",
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		cr_expect_not(route_pattern_is_valid(bad[i], &why), "'%s' accepted", bad[i]);
		cr_expect_not_null(why, "'%s': no reason", bad[i]);
	}
	cr_expect_not(route_pattern_is_valid(NULL, &why));
	cr_expect_not(route_pattern_is_valid("example.com", NULL));
}

Test(route, pattern_host)
{
	char out[64];

	cr_assert_eq(route_pattern_host("*.Example.com/*", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "example.com");
	cr_assert_eq(route_pattern_host("*example.com/a", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "example.com");
	cr_assert_eq(route_pattern_host("api.example.com/", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "api.example.com");
	errno = 0;
	cr_expect_eq(route_pattern_host("example.com", out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(route_pattern_host("example.com/*", out, 5), -1);
}

Test(route, add_rejects_invalid)
{
	struct route_table *t = route_table_new();

	cr_assert_not_null(t);
	errno = 0;
	cr_expect_eq(route_table_add(t, "http://x.com/*", "r1", t), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(route_table_count(t), 0);
	cr_expect_eq(route_table_add(t, "x.com/*", NULL, t), 0);
	cr_expect_eq(route_table_count(t), 1);
	route_table_free(t);
	route_table_free(NULL);
}

/* Targets are the addresses of these markers. */
static int apex, sub, both, api, api_exact, other, exact_path, star_root;

static struct route_table *
make_table(void)
{
	struct route_table *t = route_table_new();

	cr_assert_not_null(t);
	cr_assert_eq(route_table_add(t, "example.com/*", "apex", &apex), 0);
	cr_assert_eq(route_table_add(t, "*.example.com/*", "sub", &sub), 0);
	cr_assert_eq(route_table_add(t, "*example.org/*", "both", &both), 0);
	cr_assert_eq(route_table_add(t, "example.com/api/*", "api", &api), 0);
	cr_assert_eq(route_table_add(t, "example.com/api/v1", "api-exact", &api_exact), 0);
	cr_assert_eq(route_table_add(t, "Other.NET/exact", "other", &other), 0);
	return t;
}

Test(route, matching)
{
	struct route_table *t = make_table();

	cr_expect_eq(route_table_count(t), 6);
	cr_expect_eq(route_table_match(t, "example.com", "/"), &apex);
	cr_expect_eq(route_table_match(t, "example.com", "/index.html"), &apex);
	cr_expect_eq(route_table_match(t, "www.example.com", "/"), &sub);
	cr_expect_eq(route_table_match(t, "a.b.example.com", "/x"), &sub);
	/* "*example.org" covers the apex and subdomains, not a look-alike name */
	cr_expect_eq(route_table_match(t, "example.org", "/"), &both);
	cr_expect_eq(route_table_match(t, "x.example.org", "/"), &both);
	cr_expect_null(route_table_match(t, "badexample.org", "/"));
	cr_expect_null(route_table_match(t, ".example.org", "/"));
	/* "*.example.com" alone does not cover a look-alike either */
	cr_expect_null(route_table_match(t, "notexample.com", "/"));
	/* exact path */
	cr_expect_eq(route_table_match(t, "other.net", "/exact"), &other);
	cr_expect_null(route_table_match(t, "other.net", "/exact/"));
	cr_expect_null(route_table_match(t, "other.net", "/exac"));
	cr_expect_null(route_table_match(t, "other.net", "/"));
	/* no match */
	cr_expect_null(route_table_match(t, "example.net", "/"));
	cr_expect_null(route_table_match(t, "", "/"));
	cr_expect_null(route_table_match(t, "com", "/"));
	cr_expect_null(route_table_match(NULL, "example.com", "/"));
	route_table_free(t);
}

Test(route, host_case_insensitive)
{
	struct route_table *t = make_table();

	cr_expect_eq(route_table_match(t, "EXAMPLE.COM", "/"), &apex);
	cr_expect_eq(route_table_match(t, "Www.Example.Com", "/"), &sub);
	cr_expect_eq(route_table_match(t, "other.net", "/exact"), &other);
	/* the path is case-sensitive */
	cr_expect_null(route_table_match(t, "other.net", "/EXACT"));
	route_table_free(t);
}

Test(route, specificity)
{
	struct route_table *t = make_table();

	/* a longer path prefix beats the catch-all of the host */
	cr_expect_eq(route_table_match(t, "example.com", "/api/"), &api);
	cr_expect_eq(route_table_match(t, "example.com", "/api/v2"), &api);
	/* an exact path beats a prefix */
	cr_expect_eq(route_table_match(t, "example.com", "/api/v1"), &api_exact);
	/* the "/api/" prefix does not match "/api" */
	cr_expect_eq(route_table_match(t, "example.com", "/api"), &apex);
	route_table_free(t);
}

Test(route, exact_host_beats_wildcard)
{
	struct route_table *t = route_table_new();

	cr_assert_not_null(t);
	/* added wildcard first, with a longer path: the exact host still wins */
	cr_assert_eq(route_table_add(t, "*.example.com/api/*", "w", &sub), 0);
	cr_assert_eq(route_table_add(t, "www.example.com/*", "e", &apex), 0);
	cr_expect_eq(route_table_match(t, "www.example.com", "/api/x"), &apex);
	cr_expect_eq(route_table_match(t, "cdn.example.com", "/api/x"), &sub);
	cr_expect_null(route_table_match(t, "cdn.example.com", "/"));
	route_table_free(t);
}

Test(route, longer_wildcard_host_wins)
{
	struct route_table *t = route_table_new();

	cr_assert_not_null(t);
	cr_assert_eq(route_table_add(t, "*example.com/*", "apex-sub", &both), 0);
	cr_assert_eq(route_table_add(t, "*.example.com/*", "sub", &sub), 0);
	cr_assert_eq(route_table_add(t, "*.api.example.com/*", "api", &api), 0);
	cr_expect_eq(route_table_match(t, "example.com", "/"), &both);
	cr_expect_eq(route_table_match(t, "www.example.com", "/"), &sub);
	cr_expect_eq(route_table_match(t, "v1.api.example.com", "/"), &api);
	/* the host length outranks the path length */
	cr_assert_eq(route_table_add(t, "*.example.com/very/long/path/*", "long", &exact_path), 0);
	cr_expect_eq(route_table_match(t, "v1.api.example.com", "/very/long/path/x"), &api);
	cr_expect_eq(route_table_match(t, "www.example.com", "/very/long/path/x"), &exact_path);
	route_table_free(t);
}

Test(route, ties_go_to_the_first_added)
{
	struct route_table *t = route_table_new();

	cr_assert_not_null(t);
	cr_assert_eq(route_table_add(t, "example.com/*", "first", &apex), 0);
	cr_assert_eq(route_table_add(t, "EXAMPLE.com/*", "second", &other), 0);
	cr_assert_eq(route_table_add(t, "example.com*", "bad", &star_root), -1);
	cr_expect_eq(route_table_match(t, "example.com", "/a"), &apex);
	route_table_free(t);
}

Test(route, many_routes)
{
	struct route_table *t = route_table_new();
	char pat[64];
	int i;

	cr_assert_not_null(t);
	for (i = 0; i < 500; i++) {
		snprintf(pat, sizeof(pat), "h%d.example.com/*", i);
		cr_assert_eq(route_table_add(t, pat, pat, (void *)(intptr_t)(i + 1)), 0);
	}
	cr_expect_eq(route_table_count(t), 500);
	cr_expect_eq(route_table_match(t, "h0.example.com", "/"), (void *)(intptr_t)1);
	cr_expect_eq(route_table_match(t, "h499.example.com", "/z"), (void *)(intptr_t)500);
	cr_expect_null(route_table_match(t, "h500.example.com", "/"));
	route_table_free(t);
}
