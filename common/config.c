/*
 * config: edged's settings as one table (key, type, field, range, default);
 * defaults, "key = value" files and flags all go through config_set().  Read
 * by the supervisor.
 */
#define _GNU_SOURCE
#include "common/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define TiB (1024ULL * GiB)

#define CONFIG_TOKEN_MIN 16

enum config_type {
	CONFIG_T_ADDR,   /* "ADDR:PORT": IPv4 or [IPv6], port 0..65535 */
	CONFIG_T_PATH,   /* non-empty */
	CONFIG_T_TOKEN,  /* printable, no spaces; may be empty until config_check */
	CONFIG_T_LEVEL,  /* error|warn|info|debug */
	CONFIG_T_NUMBER, /* decimal */
	CONFIG_T_SIZE,   /* decimal bytes, or with KiB, MiB, GiB */
	CONFIG_T_NAME,   /* a user name: [a-z_][a-z0-9_-]*, or empty */
	CONFIG_T_LIST,   /* comma-separated words [a-z0-9_]; stored as "a,b,c" */
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	size_t width;         /* sizeof the field */
	uint64_t min, max;    /* numbers and sizes */
	const char *fallback; /* the default, as config text */
};

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

/* Keep in step with packaging/edged.conf, which documents every row. */
static const struct config_key config_keys[] = {
	{ "listen", CONFIG_T_ADDR, FIELD(listen), 0, 0, "127.0.0.1:8080" },
	{ "admin_listen", CONFIG_T_ADDR, FIELD(admin_listen), 0, 0, "127.0.0.1:8081" },
	{ "data_dir", CONFIG_T_PATH, FIELD(data_dir), 0, 0, "/var/lib/edged" },
	{ "admin_token", CONFIG_T_TOKEN, FIELD(admin_token), 0, 0, "" },
	{ "log_level", CONFIG_T_LEVEL, FIELD(log_level), 0, 0, "info" },

	{ "pool_blanks", CONFIG_T_NUMBER, FIELD(pool_blanks), 0, 4096, "4" },
	{ "max_sandboxes", CONFIG_T_NUMBER, FIELD(max_sandboxes), 1, 65536, "64" },
	{ "max_sandboxes_per_version", CONFIG_T_NUMBER, FIELD(max_per_version), 1, 65536, "8" },
	{ "sandbox_concurrency", CONFIG_T_NUMBER, FIELD(sandbox_concurrency), 1, 1024, "1" },
	{ "request_queue_max", CONFIG_T_NUMBER, FIELD(queue_max), 0, 1000000, "256" },
	{ "sandbox_idle_timeout", CONFIG_T_NUMBER, FIELD(sandbox_idle_s), 1, 604800, "300" },
	{ "recycle_after_requests", CONFIG_T_NUMBER, FIELD(recycle_requests), 0, UINT_MAX, "0" },
	{ "recycle_after_cpu_s", CONFIG_T_NUMBER, FIELD(recycle_cpu_s), 0, 31536000, "0" },
	{ "recycle_after_rss_mb", CONFIG_T_NUMBER, FIELD(recycle_rss_mb), 0, 65536, "0" },
	{ "recycle_after_age_s", CONFIG_T_NUMBER, FIELD(recycle_age_s), 0, 31536000, "0" },
	{ "tenant_queue_max", CONFIG_T_NUMBER, FIELD(tenant_queue_max), 0, 1000000, "512" },

	{ "cpu_ms", CONFIG_T_NUMBER, FIELD(cpu_ms), 1, 600000, "50" },
	{ "wall_ms", CONFIG_T_NUMBER, FIELD(wall_ms), 1, 3600000, "30000" },
	{ "startup_cpu_ms", CONFIG_T_NUMBER, FIELD(startup_cpu_ms), 1, 600000, "1000" },
	{ "memory_mb", CONFIG_T_NUMBER, FIELD(memory_mb), 16, 65536, "128" },

	{ "request_body_max", CONFIG_T_SIZE, FIELD(request_body_max), 0, TiB, "100MiB" },
	{ "request_line_max", CONFIG_T_SIZE, FIELD(request_line_max), 256, MiB, "8KiB" },
	{ "header_count_max", CONFIG_T_NUMBER, FIELD(header_count_max), 1, 10000, "100" },
	{ "header_bytes_max", CONFIG_T_SIZE, FIELD(header_bytes_max), KiB, 16 * MiB, "32KiB" },
	{ "header_timeout_ms", CONFIG_T_NUMBER, FIELD(header_timeout_ms), 100, 3600000, "10000" },
	{ "keepalive_timeout_ms", CONFIG_T_NUMBER, FIELD(keepalive_timeout_ms), 0, 3600000,
	    "60000" },
	{ "max_connections", CONFIG_T_NUMBER, FIELD(max_connections), 1, 1000000, "10000" },
	{ "script_max_bytes", CONFIG_T_SIZE, FIELD(script_max_bytes), KiB, GiB, "10MiB" },
	{ "drain_timeout", CONFIG_T_NUMBER, FIELD(drain_timeout_s), 0, 3600, "30" },

	{ "d1_query_ms", CONFIG_T_NUMBER, FIELD(d1_query_ms), 10, 30000, "5000" },

	{ "user", CONFIG_T_NAME, FIELD(user), 0, 0, "edged" },
	{ "sandbox_uid_base", CONFIG_T_NUMBER, FIELD(sandbox_uid_base), 1000, INT32_MAX, "200000" },
	{ "required_layers", CONFIG_T_LIST, FIELD(required_layers), 0, 0,
	    "seccomp,no_new_privs,rlimits,closed_fds" },
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static int config_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
config_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const struct config_key *
config_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Decimal digits only: no sign, no spaces, no hex. */
static int
config_parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (p == s)
		return -1;
	*end = p;
	*out = v;
	return 0;
}

static int
config_parse_number(const char *s, uint64_t *out)
{
	const char *end;

	return config_parse_u64(s, &end, out) == -1 || *end != '\0' ? -1 : 0;
}

/* "1048576", "8KiB", "100 MiB", "1GiB". */
static int
config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t unit;
	} units[] = { { "", 1 }, { "B", 1 }, { "KiB", KiB }, { "MiB", MiB }, { "GiB", GiB } };
	const char *end;
	uint64_t v;

	if (config_parse_u64(s, &end, &v) == -1)
		return -1;
	if (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].unit)
			return -1;
		*out = v * units[i].unit;
		return 0;
	}
	return -1;
}

/* IPv4 "a.b.c.d:port" or "[v6]:port". */
static bool
config_addr_is_valid(const char *s)
{
	char host[CONFIG_ADDR_MAX];
	unsigned char bin[16];
	const char *colon, *h = s;
	uint64_t port;
	size_t len;
	int family = AF_INET;

	if ((colon = strrchr(s, ':')) == NULL)
		return false;
	if (config_parse_number(colon + 1, &port) == -1 || port > 65535)
		return false;
	len = (size_t)(colon - s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		h = s + 1;
		len -= 2;
		family = AF_INET6;
	}
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, h, len);
	host[len] = '\0';
	return inet_pton(family, host, bin) == 1;
}

static bool
config_token_is_valid(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

static bool
config_name_is_valid(const char *s)
{
	if (*s == '\0')
		return true;
	if (!(*s == '_' || (*s >= 'a' && *s <= 'z')))
		return false;
	for (s++; *s != '\0'; s++)
		if (!(*s == '_' || *s == '-' || (*s >= 'a' && *s <= 'z') ||
			(*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* "a, b ,c" -> "a,b,c" into out (width bytes); -1 on a bad word or overflow. */
static int
config_normalize_list(const char *value, char *out, size_t width)
{
	size_t at = 0;
	bool word = false, sep = false;

	for (const char *p = value; *p != '\0'; p++) {
		char ch = *p;

		if (ch == ' ' || ch == '\t')
			continue;
		if (ch == ',') {
			if (!word)
				return -1;
			word = false;
			sep = true;
			continue;
		}
		if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			return -1;
		if (sep) {
			if (at + 1 >= width)
				return -1;
			out[at++] = ',';
			sep = false;
		}
		if (at + 1 >= width)
			return -1;
		out[at++] = ch;
		word = true;
	}
	if (sep)
		return -1;
	out[at] = '\0';
	return 0;
}

bool
config_requires_layer(const struct config *c, const char *layer)
{
	size_t len = strlen(layer);

	for (const char *p = c->required_layers; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		if (n == len && strncmp(p, layer, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static int
config_set_text(
    const struct config_key *k, char *field, const char *value, char *err, size_t errlen)
{
	size_t len = strlen(value);

	if (len >= k->width)
		return config_error(
		    err, errlen, "'%s': longer than %zu bytes", k->name, k->width - 1);
	switch (k->type) {
	case CONFIG_T_ADDR:
		if (!config_addr_is_valid(value))
			return config_error(err, errlen,
			    "'%s': '%s' is not ADDR:PORT "
			    "(like 127.0.0.1:8080 or [::1]:8080)",
			    k->name, value);
		break;
	case CONFIG_T_PATH:
		if (len == 0)
			return config_error(err, errlen, "'%s': empty path", k->name);
		break;
	case CONFIG_T_TOKEN:
		if (!config_token_is_valid(value))
			return config_error(err, errlen,
			    "'%s': only printable characters "
			    "without spaces",
			    k->name);
		break;
	case CONFIG_T_NAME:
		if (!config_name_is_valid(value))
			return config_error(
			    err, errlen, "'%s': '%s' is not a user name", k->name, value);
		break;
	case CONFIG_T_LIST:
		memset(field, 0, k->width);
		if (config_normalize_list(value, field, k->width) == -1)
			return config_error(err, errlen,
			    "'%s': '%s' is not a comma-separated list of names", k->name, value);
		return 0;
	default:
		assert(!"not a text key");
	}
	/* Zero the tail too: the struct compares and copies as plain bytes. */
	memset(field, 0, k->width);
	memcpy(field, value, len);
	return 0;
}

static int
config_set_unsigned(
    const struct config_key *k, void *field, const char *value, char *err, size_t errlen)
{
	uint64_t v;

	if (k->type == CONFIG_T_SIZE) {
		if (config_parse_size(value, &v) == -1)
			return config_error(err, errlen,
			    "'%s': '%s' is not a size "
			    "(bytes, or a number with KiB, MiB or GiB)",
			    k->name, value);
	} else if (config_parse_number(value, &v) == -1)
		return config_error(err, errlen, "'%s': '%s' is not a number", k->name, value);
	if (v < k->min || v > k->max)
		return config_error(err, errlen, "'%s': %llu is out of range (%llu to %llu)",
		    k->name, (unsigned long long)v, (unsigned long long)k->min,
		    (unsigned long long)k->max);
	switch (k->width) {
	case sizeof(uint32_t): {
		uint32_t v32 = (uint32_t)v;

		memcpy(field, &v32, sizeof(v32));
		break;
	}
	case sizeof(uint64_t):
		memcpy(field, &v, sizeof(v));
		break;
	default:
		assert(!"unsupported field width");
	}
	return 0;
}

void
config_defaults(struct config *c)
{
	char err[256];
	int rc;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		rc = config_set(c, config_keys[i].name, config_keys[i].fallback, err, sizeof(err));
		assert(rc == 0 && "a default in config_keys is invalid");
		(void)rc;
	}
}

int
config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct config_key *k;
	char *field;
	int level;

	if ((k = config_find(key)) == NULL)
		return config_error(err, errlen, "unknown key '%s'", key);
	field = (char *)c + k->offset;
	switch (k->type) {
	case CONFIG_T_LEVEL:
		if ((level = log_level_parse(value)) == -1)
			return config_error(err, errlen,
			    "'%s': '%s' is not one of error, warn, "
			    "info, debug",
			    k->name, value);
		memcpy(field, &level, sizeof(level));
		return 0;
	case CONFIG_T_NUMBER:
	case CONFIG_T_SIZE:
		return config_set_unsigned(k, field, value, err, errlen);
	default:
		return config_set_text(k, field, value, err, errlen);
	}
}

/*
 * Splits one line into key and value in place.  Returns 1 for a setting, 0
 * for a blank or comment line, -1 with err set.  Values may be double-quoted
 * (with \" and \\ inside); unquoted values end at a '#' after a space.
 */
static int
config_split_line(char *line, char **key, char **value, char *err, size_t errlen)
{
	char *p = line, *eq, *end, *out;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	if ((eq = strchr(p, '=')) == NULL)
		return config_error(err, errlen, "expected 'key = value'");
	*key = p;
	for (end = eq; end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	if (**key == '\0')
		return config_error(err, errlen, "missing key before '='");

	p = eq + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		*value = out = ++p;
		for (; *p != '"'; p++) {
			if (*p == '\0')
				return config_error(err, errlen, "unterminated quoted value");
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*out++ = *p;
		}
		*out = '\0';
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != '\0' && *p != '#')
			return config_error(err, errlen, "text after the quoted value");
		return 1;
	}
	*value = p;
	for (; *p != '\0'; p++)
		if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t'))
			break;
	*p = '\0';
	for (end = p; end > *value && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	return 1;
}

int
config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	struct config next = *c;
	char reason[384], *line = NULL, *key = NULL, *value = NULL;
	unsigned lineno = 0;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(path, "re")) == NULL)
		return config_error(err, errlen, "cannot open '%s': %s", path, strerror(errno));
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			config_error(err, errlen, "%s:%u: NUL byte in the line", path, lineno);
			goto cleanup;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		switch (config_split_line(line, &key, &value, reason, sizeof(reason))) {
		case 0:
			continue;
		case -1:
			config_error(err, errlen, "%s:%u: %s", path, lineno, reason);
			goto cleanup;
		}
		if (config_set(&next, key, value, reason, sizeof(reason)) == -1) {
			config_error(err, errlen, "%s:%u: %s", path, lineno, reason);
			goto cleanup;
		}
	}
	if (ferror(fp)) {
		config_error(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	/* All or nothing: a bad line leaves *c as it was. */
	*c = next;
	rc = 0;
cleanup:
	free(line);
	fclose(fp);
	return rc;
}

static bool
config_same_endpoint(const char *a, const char *b)
{
	const char *port = strrchr(a, ':');

	/* Port 0 asks the kernel for a free port: two of them never clash. */
	return strcmp(a, b) == 0 && port != NULL && strcmp(port, ":0") != 0;
}

int
config_check(const struct config *c, char *err, size_t errlen)
{
	if (c->admin_token[0] == '\0')
		return config_error(err, errlen,
		    "'admin_token' is empty: set it in the config "
		    "file or EDGED_ADMIN_TOKEN (packaging/install.sh generates one)");
	if (strlen(c->admin_token) < CONFIG_TOKEN_MIN)
		return config_error(
		    err, errlen, "'admin_token' is shorter than %d characters", CONFIG_TOKEN_MIN);
	if (config_same_endpoint(c->listen, c->admin_listen))
		return config_error(
		    err, errlen, "'listen' and 'admin_listen' are both '%s'", c->listen);
	if (c->max_per_version > c->max_sandboxes)
		return config_error(err, errlen,
		    "'max_sandboxes_per_version' (%u) is above "
		    "'max_sandboxes' (%u)",
		    c->max_per_version, c->max_sandboxes);
	if (c->pool_blanks > c->max_sandboxes)
		return config_error(err, errlen, "'pool_blanks' (%u) is above 'max_sandboxes' (%u)",
		    c->pool_blanks, c->max_sandboxes);
	if ((uint64_t)c->sandbox_uid_base + c->max_sandboxes > INT32_MAX)
		return config_error(err, errlen,
		    "'sandbox_uid_base' (%u) + 'max_sandboxes' (%u) is above %d",
		    c->sandbox_uid_base, c->max_sandboxes, INT32_MAX);
	if (c->wall_ms < c->cpu_ms)
		return config_error(
		    err, errlen, "'wall_ms' (%u) is below 'cpu_ms' (%u)", c->wall_ms, c->cpu_ms);
	return 0;
}
