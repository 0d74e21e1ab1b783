/*
 * config: edged's settings, from defaults, then the config file, then
 * command-line flags.  The file is "key = value" lines with '#' comments;
 * packaging/edged.conf documents every key.  Read by the supervisor, which
 * hands what the other processes need to them.
 */
#ifndef EDGED_CONFIG_H
#define EDGED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ADDR_MAX 128
#define CONFIG_PATH_MAX 1024
#define CONFIG_TOKEN_MAX 256
#define CONFIG_NAME_MAX 64
#define CONFIG_LIST_MAX 256

struct config {
	char listen[CONFIG_ADDR_MAX];       /* listen: public HTTP, "ADDR:PORT" */
	char admin_listen[CONFIG_ADDR_MAX]; /* admin_listen: admin API, "ADDR:PORT" */
	char data_dir[CONFIG_PATH_MAX];     /* data_dir */
	char admin_token[CONFIG_TOKEN_MAX]; /* admin_token (EDGED_ADMIN_TOKEN overrides) */
	int log_level;                      /* log_level: error|warn|info|debug */

	unsigned pool_blanks;         /* pool_blanks: pre-forked blank sandboxes */
	unsigned max_sandboxes;       /* max_sandboxes: all sandbox processes */
	unsigned max_per_version;     /* max_sandboxes_per_version */
	unsigned sandbox_concurrency; /* sandbox_concurrency: requests at once per sandbox */
	unsigned queue_max;           /* request_queue_max: waiting requests per version */
	unsigned sandbox_idle_s;      /* sandbox_idle_timeout: idle warm sandbox lifetime, s */
	unsigned recycle_requests;    /* recycle_after_requests: 0 = never (±10% jitter) */
	unsigned recycle_cpu_s;       /* recycle_after_cpu_s: lifetime CPU, s; 0 = never */
	unsigned recycle_rss_mb;      /* recycle_after_rss_mb: resident set, MiB; 0 = never */
	unsigned recycle_age_s;       /* recycle_after_age_s: since spawn, s; 0 = never */
	unsigned tenant_queue_max;    /* tenant_queue_max: waiting requests per tenant */

	unsigned cpu_ms;         /* cpu_ms: CPU per request */
	unsigned wall_ms;        /* wall_ms: wall time per request */
	unsigned startup_cpu_ms; /* startup_cpu_ms: global scope at upload */
	unsigned memory_mb;      /* memory_mb: per sandbox */

	uint64_t request_body_max;     /* request_body_max: bytes */
	size_t request_line_max;       /* request_line_max: bytes */
	size_t header_count_max;       /* header_count_max */
	size_t header_bytes_max;       /* header_bytes_max: bytes */
	unsigned header_timeout_ms;    /* header_timeout_ms */
	unsigned keepalive_timeout_ms; /* keepalive_timeout_ms */
	size_t max_connections;        /* max_connections */
	size_t script_max_bytes;       /* script_max_bytes */
	unsigned drain_timeout_s;      /* drain_timeout: SIGTERM grace, s */

	unsigned d1_query_ms; /* d1_query_ms: wall time one D1 statement may run in the broker */

	char user[CONFIG_NAME_MAX]; /* user: service user the supervisor and broker drop to */
	unsigned sandbox_uid_base;  /* sandbox_uid_base: as root, slot N runs as base + N */
	char required_layers[CONFIG_LIST_MAX]; /* required_layers: "a,b,c" (normalized) */

	bool dev; /* --dev only; not a file key */
};

/* Fills every field with its default (the values packaging/edged.conf lists). */
void config_defaults(struct config *c);

/*
 * Sets one key from its text value ("64", "10MiB", "127.0.0.1:8080"...).
 * Sizes accept the suffixes KiB, MiB, GiB.  Returns 0, or -1 with a message
 * ("unknown key 'x'", "'cpu_ms': not a number") in err.
 */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);

/*
 * Reads a config file over the current values.  Returns 0, or -1 with
 * "FILE:LINE: reason" in err.  Unknown keys are errors.
 */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Whether `layer` is listed in c->required_layers.
 */
bool config_requires_layer(const struct config *c, const char *layer);

/* Checks cross-field rules (non-empty token, sane limits); -1 with err set. */
int config_check(const struct config *c, char *err, size_t errlen);

#endif
