/*
 * test_config: common/config.c — defaults, config_set per key type, the file
 * parser's errors with FILE:LINE, config_check, and that packaging/edged.conf
 * documents every key with its real default.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"

#ifndef EDGED_SOURCE_DIR
#define EDGED_SOURCE_DIR "."
#endif

#define TOKEN "0123456789abcdef0123"

static char tmp_path[64];

static const char *
write_file(const char *text)
{
	FILE *fp;
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/edged-config-XXXXXX");
	fd = mkstemp(tmp_path);
	cr_assert_neq(fd, -1);
	fp = fdopen(fd, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	return tmp_path;
}

static void
remove_file(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

TestSuite(config, .fini = remove_file);

Test(config, defaults)
{
	struct config c;

	config_defaults(&c);
	cr_assert_str_eq(c.listen, "127.0.0.1:8080");
	cr_assert_str_eq(c.admin_listen, "127.0.0.1:8081");
	cr_assert_str_eq(c.data_dir, "/var/lib/edged");
	cr_assert_str_eq(c.admin_token, "");
	cr_assert_eq(c.log_level, LOG_LEVEL_INFO);
	cr_assert_eq(c.pool_blanks, 4);
	cr_assert_eq(c.max_sandboxes, 64);
	cr_assert_eq(c.max_per_version, 8);
	cr_assert_eq(c.sandbox_concurrency, 1);
	cr_assert_eq(c.queue_max, 256);
	cr_assert_eq(c.sandbox_idle_s, 300);
	cr_assert_eq(c.recycle_requests, 0);
	cr_assert_eq(c.cpu_ms, 50);
	cr_assert_eq(c.wall_ms, 30000);
	cr_assert_eq(c.startup_cpu_ms, 1000);
	cr_assert_eq(c.memory_mb, 128);
	cr_assert_eq(c.request_body_max, 100ULL << 20);
	cr_assert_eq(c.request_line_max, 8 << 10);
	cr_assert_eq(c.header_count_max, 100);
	cr_assert_eq(c.header_bytes_max, 32 << 10);
	cr_assert_eq(c.header_timeout_ms, 10000);
	cr_assert_eq(c.keepalive_timeout_ms, 60000);
	cr_assert_eq(c.max_connections, 10000);
	cr_assert_eq(c.script_max_bytes, 10 << 20);
	cr_assert_eq(c.drain_timeout_s, 30);
	cr_assert_eq(c.dev, false);
}

/* --- config_set, table-driven ---------------------------------------------------- */

struct set_case {
	const char *key;
	const char *value;
	bool ok;
	const char *err; /* a substring of the error, when !ok */
};

static const struct set_case set_cases[] = {
	{ "listen", "0.0.0.0:80", true, NULL },
	{ "listen", "[::1]:8080", true, NULL },
	{ "listen", "127.0.0.1:0", true, NULL },
	{ "listen", "127.0.0.1", false, "ADDR:PORT" },
	{ "listen", "127.0.0.1:65536", false, "ADDR:PORT" },
	{ "listen", "localhost:80", false, "ADDR:PORT" },
	{ "listen", "::1:80", false, "ADDR:PORT" },
	{ "listen", "127.0.0.1:-1", false, "ADDR:PORT" },
	{ "admin_listen", "", false, "ADDR:PORT" },
	{ "data_dir", "", false, "empty" },
	{ "admin_token", "with space", false, "printable" },
	{ "admin_token", "tab\there", false, "printable" },
	{ "log_level", "debug", true, NULL },
	{ "log_level", "verbose", false, "'verbose'" },
	{ "cpu_ms", "0", false, "out of range" },
	{ "cpu_ms", "600001", false, "out of range" },
	{ "cpu_ms", "12ms", false, "not a number" },
	{ "cpu_ms", "-5", false, "not a number" },
	{ "cpu_ms", " 5", false, "not a number" },
	{ "cpu_ms", "0x10", false, "not a number" },
	{ "cpu_ms", "", false, "not a number" },
	{ "cpu_ms", "99999999999999999999999", false, "not a number" },
	{ "recycle_after_requests", "4294967295", true, NULL },
	{ "recycle_after_requests", "4294967296", false, "out of range" },
	{ "request_body_max", "1GiB", true, NULL },
	{ "request_body_max", "1 GiB", true, NULL },
	{ "request_body_max", "512", true, NULL },
	{ "request_body_max", "10MB", false, "not a size" },
	{ "request_body_max", "10mib", false, "not a size" },
	{ "request_body_max", "2048GiB", false, "out of range" },
	{ "request_body_max", "18446744073709551615GiB", false, "not a size" },
	{ "request_line_max", "100", false, "out of range" },
	{ "header_bytes_max", "16MiB", true, NULL },
	{ "script_max_bytes", "KiB", false, "not a size" },
	{ "no_such_key", "1", false, "unknown key 'no_such_key'" },
	{ "dev", "1", false, "unknown key" },
};

Test(config, set_cases)
{
	for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		const struct set_case *t = &set_cases[i];
		struct config c, before;
		char err[256] = "";
		int rc;

		config_defaults(&c);
		memcpy(&before, &c, sizeof(c));
		rc = config_set(&c, t->key, t->value, err, sizeof(err));
		if (t->ok) {
			cr_expect_eq(rc, 0, "%s = '%s': %s", t->key, t->value, err);
			continue;
		}
		cr_expect_eq(rc, -1, "%s = '%s' was accepted", t->key, t->value);
		cr_expect(strstr(err, t->err) != NULL, "%s = '%s': error '%s' lacks '%s'", t->key,
		    t->value, err, t->err);
		cr_expect_eq(memcmp(&c, &before, sizeof(c)), 0,
		    "%s = '%s': a rejected value changed the config", t->key, t->value);
	}
}

Test(config, set_stores_values)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	cr_assert_eq(config_set(&c, "request_body_max", "3GiB", err, sizeof(err)), 0);
	cr_assert_eq(c.request_body_max, 3ULL << 30);
	cr_assert_eq(config_set(&c, "header_bytes_max", "64KiB", err, sizeof(err)), 0);
	cr_assert_eq(c.header_bytes_max, 64 << 10);
	cr_assert_eq(config_set(&c, "cpu_ms", "600000", err, sizeof(err)), 0);
	cr_assert_eq(c.cpu_ms, 600000);
	cr_assert_eq(config_set(&c, "log_level", "error", err, sizeof(err)), 0);
	cr_assert_eq(c.log_level, LOG_LEVEL_ERROR);
	cr_assert_eq(config_set(&c, "listen", "[::]:443", err, sizeof(err)), 0);
	cr_assert_str_eq(c.listen, "[::]:443");
	/* Neighbouring fields are untouched by the writes above. */
	cr_assert_eq(c.startup_cpu_ms, 1000);
	cr_assert_eq(c.wall_ms, 30000);
	cr_assert_eq(c.header_count_max, 100);
	cr_assert_eq(c.header_timeout_ms, 10000);
}

Test(config, set_rejects_overlong_strings)
{
	char big[CONFIG_TOKEN_MAX + 8], err[256];
	struct config c;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	config_defaults(&c);
	cr_assert_eq(config_set(&c, "admin_token", big, err, sizeof(err)), -1);
	cr_assert(strstr(err, "longer than") != NULL, "%s", err);
	big[CONFIG_TOKEN_MAX - 1] = '\0';
	cr_assert_eq(config_set(&c, "admin_token", big, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(c.admin_token), CONFIG_TOKEN_MAX - 1);
}

/* --- files --------------------------------------------------------------------------- */

Test(config, load_file)
{
	struct config c;
	char err[512] = "";
	const char *path = write_file("# a comment\n"
				      "\n"
				      "   \t\n"
				      "listen = 0.0.0.0:9000\n"
				      "  cpu_ms=75   # trailing comment\n"
				      "admin_token = \"" TOKEN "\"\n"
				      "data_dir = \"/srv/edged data # not a comment\"\n"
				      "log_level = \"debug\"  # quoted, then a comment\r\n"
				      "request_body_max = 1 MiB\n"
				      "cpu_ms = 80\n");

	config_defaults(&c);
	cr_assert_eq(config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen, "0.0.0.0:9000");
	cr_assert_eq(c.cpu_ms, 80, "the last value wins");
	cr_assert_str_eq(c.admin_token, TOKEN);
	cr_assert_str_eq(c.data_dir, "/srv/edged data # not a comment");
	cr_assert_eq(c.log_level, LOG_LEVEL_DEBUG);
	cr_assert_eq(c.request_body_max, 1 << 20);
	cr_assert_eq(c.wall_ms, 30000, "keys not in the file keep their value");
}

Test(config, load_file_quoted_escapes)
{
	struct config c;
	char err[512] = "";
	const char *path = write_file("admin_token = \"a\\\"b\\\\c-0123456789abcdef\"\n");

	config_defaults(&c);
	cr_assert_eq(config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.admin_token, "a\"b\\c-0123456789abcdef");
}

struct file_case {
	const char *text;
	const char *err; /* after "PATH:" */
};

static const struct file_case file_cases[] = {
	{ "cpu_ms = 10\nbogus = 1\n", "2: unknown key 'bogus'" },
	{ "# ok\n\ncpu_ms = fast\n", "3: 'cpu_ms': 'fast' is not a number" },
	{ "cpu_ms 10\n", "1: expected 'key = value'" },
	{ " = 10\n", "1: missing key" },
	{ "data_dir = \"/unterminated\n", "1: unterminated quoted value" },
	{ "data_dir = \"/a\" junk\n", "1: text after the quoted value" },
	{ "listen = 127.0.0.1\n", "1: 'listen'" },
	{ "log_level =\n", "1: 'log_level'" },
	{ "cpu_ms = 10\n\n\n\nmemory_mb = 1\n", "5: 'memory_mb': 1 is out of range" },
};

Test(config, load_file_errors_name_file_and_line)
{
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		struct config c, before;
		char err[512] = "", want[256];
		const char *path = write_file(file_cases[i].text);

		config_defaults(&c);
		memcpy(&before, &c, sizeof(c));
		snprintf(want, sizeof(want), "%s:%s", path, file_cases[i].err);
		cr_expect_eq(
		    config_load_file(&c, path, err, sizeof(err)), -1, "case %zu accepted", i);
		cr_expect(strncmp(err, want, strlen(want)) == 0, "case %zu: got '%s', want '%s...'",
		    i, err, want);
		cr_expect_eq(memcmp(&c, &before, sizeof(c)), 0,
		    "case %zu: a file with an error changed the config", i);
		remove_file();
	}
}

Test(config, load_file_nul_byte)
{
	struct config c;
	char err[512] = "";
	FILE *fp;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/edged-config-XXXXXX");
	fp = fdopen(mkstemp(tmp_path), "w");
	cr_assert_not_null(fp);
	fwrite("cpu_ms = 1\0 0\n", 1, 14, fp);
	fclose(fp);
	config_defaults(&c);
	cr_assert_eq(config_load_file(&c, tmp_path, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":1: NUL byte") != NULL, "%s", err);
}

Test(config, load_missing_file)
{
	struct config c;
	char err[512] = "";

	config_defaults(&c);
	cr_assert_eq(config_load_file(&c, "/nonexistent/edged.conf", err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot open '/nonexistent/edged.conf'") != NULL, "%s", err);
}

/* --- config_check ------------------------------------------------------------------- */

struct check_case {
	const char *key, *value; /* applied to defaults + a good token */
	const char *err;         /* NULL: passes */
};

static const struct check_case check_cases[] = {
	{ NULL, NULL, NULL },
	{ "admin_token", "", "'admin_token' is empty" },
	{ "admin_token", "short", "shorter than 16" },
	{ "admin_listen", "127.0.0.1:8080", "'listen' and 'admin_listen' are both" },
	{ "max_sandboxes_per_version", "65", "above 'max_sandboxes'" },
	{ "pool_blanks", "65", "'pool_blanks' (65) is above" },
	{ "wall_ms", "49", "'wall_ms' (49) is below 'cpu_ms' (50)" },
};

Test(config, check_cases)
{
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *t = &check_cases[i];
		struct config c;
		char err[256] = "";
		int rc;

		config_defaults(&c);
		cr_assert_eq(config_set(&c, "admin_token", TOKEN, err, sizeof(err)), 0);
		if (t->key != NULL)
			cr_assert_eq(
			    config_set(&c, t->key, t->value, err, sizeof(err)), 0, "%s", err);
		rc = config_check(&c, err, sizeof(err));
		if (t->err == NULL) {
			cr_expect_eq(rc, 0, "case %zu: %s", i, err);
			continue;
		}
		cr_expect_eq(rc, -1, "case %zu: %s = '%s' passed the check", i, t->key, t->value);
		cr_expect(strstr(err, t->err) != NULL, "case %zu: '%s' lacks '%s'", i, err, t->err);
	}
}

Test(config, check_allows_two_ephemeral_ports)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	cr_assert_eq(config_set(&c, "admin_token", TOKEN, err, sizeof(err)), 0);
	cr_assert_eq(config_set(&c, "listen", "127.0.0.1:0", err, sizeof(err)), 0);
	cr_assert_eq(config_set(&c, "admin_listen", "127.0.0.1:0", err, sizeof(err)), 0);
	cr_assert_eq(config_check(&c, err, sizeof(err)), 0, "%s", err);
}

Test(config, defaults_fail_the_check_only_for_the_token)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	cr_assert_eq(config_check(&c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "admin_token") != NULL, "%s", err);
}

/* --- packaging/edged.conf -------------------------------------------------------- */

static const char *const all_keys[] = {
	"listen",
	"admin_listen",
	"data_dir",
	"admin_token",
	"log_level",
	"pool_blanks",
	"max_sandboxes",
	"max_sandboxes_per_version",
	"sandbox_concurrency",
	"request_queue_max",
	"sandbox_idle_timeout",
	"d1_query_ms",
	"recycle_after_requests",
	"recycle_after_cpu_s",
	"recycle_after_rss_mb",
	"recycle_after_age_s",
	"tenant_queue_max",
	"cpu_ms",
	"wall_ms",
	"startup_cpu_ms",
	"memory_mb",
	"request_body_max",
	"request_line_max",
	"header_count_max",
	"header_bytes_max",
	"header_timeout_ms",
	"keepalive_timeout_ms",
	"max_connections",
	"script_max_bytes",
	"drain_timeout",
	"user",
	"sandbox_uid_base",
	"required_layers",
};

/*
 * The shipped file, as installed, loads cleanly; and with every "#key = value"
 * line uncommented it yields exactly the built-in defaults, one line per key.
 */
Test(config, shipped_file_documents_every_key_with_its_default)
{
	const char *shipped = EDGED_SOURCE_DIR "/packaging/edged.conf";
	unsigned seen[sizeof(all_keys) / sizeof(all_keys[0])] = { 0 };
	struct config want, got;
	char err[512] = "", *line = NULL, *uncommented = NULL;
	size_t cap = 0, ulen = 0;
	FILE *fp, *out;

	config_defaults(&want);
	memcpy(&got, &want, sizeof(got));
	cr_assert_eq(config_load_file(&got, shipped, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&got, &want, sizeof(got)), 0, "the shipped file changes a default");

	fp = fopen(shipped, "r");
	cr_assert_not_null(fp, "cannot open %s", shipped);
	out = open_memstream(&uncommented, &ulen);
	cr_assert_not_null(out);
	while (getline(&line, &cap, fp) != -1) {
		const char *setting = line[0] == '#' ? line + 1 : line;

		for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
			size_t n = strlen(all_keys[i]);

			if (strncmp(setting, all_keys[i], n) == 0 && setting[n] == ' ' &&
			    setting[n + 1] == '=') {
				seen[i]++;
				fputs(setting, out);
			}
		}
	}
	free(line);
	fclose(fp);
	fclose(out);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++)
		cr_expect_eq(seen[i], 1, "'%s' appears %u times as a setting in %s", all_keys[i],
		    seen[i], shipped);

	/* Start from values unlike any default: every key must be set by the file. */
	memset(&got, 0, sizeof(got));
	got.log_level = LOG_LEVEL_DEBUG;
	got.pool_blanks = got.max_sandboxes = got.max_per_version = 77;
	got.sandbox_concurrency = got.queue_max = got.sandbox_idle_s = got.recycle_requests = 77;
	got.cpu_ms = got.wall_ms = got.startup_cpu_ms = got.memory_mb = 77;
	got.request_body_max = got.request_line_max = got.header_count_max = 77;
	got.header_bytes_max = got.header_timeout_ms = got.keepalive_timeout_ms = 77;
	got.max_connections = got.script_max_bytes = got.drain_timeout_s = 77;
	got.sandbox_uid_base = got.d1_query_ms = 77;
	got.recycle_cpu_s = got.recycle_rss_mb = got.recycle_age_s = got.tenant_queue_max = 77;
	strcpy(got.admin_token, "x");
	strcpy(got.user, "x");
	strcpy(got.required_layers, "x");
	cr_assert_eq(
	    config_load_file(&got, write_file(uncommented), err, sizeof(err)), 0, "%s", err);
	free(uncommented);
	cr_assert_eq(memcmp(&got, &want, sizeof(got)), 0,
	    "a documented default differs from config_defaults()");
}
