/*
 * route: the route table, matching a request's Host and path against
 * Cloudflare-style patterns: a host ("example.com", "*.example.com") and a
 * path ("/", "/api/") with an optional trailing "*"; the most specific
 * pattern wins.  Runs in the supervisor.
 */
#ifndef EDGED_ROUTE_H
#define EDGED_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct route_table;

/*
 * Validates a pattern: "[*.]host/path[*]" without scheme, port, query or
 * whitespace; a path part is required ("example.com" alone is rejected), and
 * "*" may only end it.  Hosts compare case-insensitively.  Returns true when
 * valid; otherwise false and *why points to a static reason.
 */
bool route_pattern_is_valid(const char *pattern, const char **why);

/* The host of a pattern without any leading "*." (for ownership checks), into out. */
int route_pattern_host(const char *pattern, char *out, size_t out_len);

struct route_table *route_table_new(void);
void route_table_free(struct route_table *t);

/*
 * Adds a route; copies every string.  `id` is the caller's route id, `target`
 * an opaque pointer handed back by route_table_match.  -1 on an invalid
 * pattern (errno EINVAL) or ENOMEM.
 */
int route_table_add(struct route_table *t, const char *pattern, const char *id, void *target);

/*
 * Finds the most specific route for a lower-cased host (no port) and path
 * ("/a/b", no query).  Specificity: an exact host beats a wildcard host; among
 * equal host kinds the longer host wins, then the longer path prefix, then an
 * exact path beats a trailing "*".  Returns the route's target, or NULL.
 */
void *route_table_match(const struct route_table *t, const char *host, const char *path);

size_t route_table_count(const struct route_table *t);

#endif
