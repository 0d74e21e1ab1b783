/*
 * r2: R2 buckets on files with a sqlite index (see broker/store.h for the
 * contract and broker/r2_internal.h for the layout).  This file holds the
 * backend's life cycle, the method table and the helpers every part uses.
 * Runs in the broker.
 */
#define _GNU_SOURCE /* asprintf */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/r2_internal.h"
#include "broker/store.h"
#include "common/log.h"

struct r2_method {
	const char *name;
	r2_method_fn *fn;
	bool admin;
};

/* Methods with no STREAM body; create (no bucket yet) is handled apart. */
static const struct r2_method r2_methods[] = {
	{ "head", r2_method_head, false },
	{ "get", r2_method_get, false },
	{ "delete", r2_method_delete, false },
	{ "list", r2_method_list, false },
	{ "createMultipartUpload", r2_method_mpu_create, false },
	{ "completeMultipartUpload", r2_method_mpu_complete, false },
	{ "abortMultipartUpload", r2_method_mpu_abort, false },
	{ "drop", r2_method_drop, true },
};

void
r2_fail(struct store_result *r, enum store_status status, enum r2_code code, const char *method,
    const char *fmt, ...)
{
	char text[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	store_fail(r, status, "%s: %s (%d)", method, text, (int)code);
	r->code = (int)code;
}

void
r2_fail_internal(struct store_result *r, const char *method)
{
	r2_fail(r, STORE_E_INTERNAL, R2_CODE_INTERNAL, method,
	    "We encountered an internal error. Please try again.");
}

int64_t
r2_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
r2_hex(const uint8_t *bin, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
r2_random_id(char out[R2_ID_HEX + 1])
{
	uint8_t raw[R2_ID_HEX / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("r2: getrandom");
			return -1;
		}
		got += (size_t)n;
	}
	r2_hex(raw, sizeof(raw), out);
	return 0;
}

bool
r2_is_id(const char *s)
{
	size_t i;

	for (i = 0; i < R2_ID_HEX; i++)
		if (s[i] == '\0' || strchr("0123456789abcdef", s[i]) == NULL)
			return false;
	return s[i] == '\0';
}

void
r2_set_min_part_size(struct r2 *r2, uint64_t size)
{
	r2->min_part_size = size;
}

/* Makes a new entry of the folder durable; a failure is only logged. */
static void
r2_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1 || fsync(fd) == -1)
		log_warn("r2: cannot sync '%s'", path);
	if (fd != -1)
		close(fd);
}

struct r2 *
r2_open(const char *data_dir)
{
	struct r2 *r2;

	if ((r2 = calloc(1, sizeof(*r2))) == NULL) {
		log_warn("r2: cannot open");
		return NULL;
	}
	TAILQ_INIT(&r2->buckets);
	TAILQ_INIT(&r2->usage);
	r2->min_part_size = R2_PART_MIN;
	if (asprintf(&r2->root, "%s/r2", data_dir) == -1) {
		r2->root = NULL;
		log_warn("r2: cannot open");
		goto fail;
	}
	if (mkdir(r2->root, 0700) == 0)
		r2_sync_dir(data_dir);
	else if (errno != EEXIST) {
		log_warn("r2: cannot create '%s'", r2->root);
		goto fail;
	}
	r2_recover(r2);
	return r2;
fail:
	r2_close(r2);
	return NULL;
}

void
r2_close(struct r2 *r2)
{
	struct r2_bucket *b;

	if (r2 == NULL)
		return;
	while ((b = TAILQ_FIRST(&r2->buckets)) != NULL) {
		TAILQ_REMOVE(&r2->buckets, b, entry);
		r2_bucket_close(b);
	}
	r2_usage_free_all(r2);
	free(r2->root);
	free(r2);
}

static const struct r2_method *
r2_method_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(r2_methods) / sizeof(r2_methods[0]); i++)
		if (strcmp(r2_methods[i].name, name) == 0)
			return &r2_methods[i];
	return NULL;
}

void
r2_call(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	const struct r2_method *m;
	struct r2_bucket *b;
	const char *name = c->method != NULL ? c->method : "";

	if (!json_is_object(c->args)) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, name,
		    "The arguments must be an object.");
		return;
	}
	if (strcmp(name, "create") == 0 && c->admin) {
		r2_method_create(r2, c, r);
		return;
	}
	if ((m = r2_method_lookup(name)) == NULL || (m->admin && !c->admin)) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, name,
		    "This method is not supported here.");
		return;
	}
	if ((b = r2_bucket_find(r2, c, name, r)) == NULL)
		return;
	m->fn(r2, b, c, r);
}
