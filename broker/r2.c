/*
 * r2: R2 buckets on files with a sqlite index (placeholder until the backend
 * lands; see broker/store.h for the contract).  Runs in the broker.
 */
#include <stdlib.h>

#include "broker/store.h"

struct r2 {
	int unused;
};

struct r2 *
r2_open(const char *data_dir)
{
	(void)data_dir;
	return calloc(1, sizeof(struct r2));
}

void
r2_close(struct r2 *r2)
{
	free(r2);
}

void
r2_call(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	store_fail(r, STORE_E_INTERNAL, "R2 is not implemented yet (10001)");
}

struct r2_upload *
r2_upload_begin(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	store_fail(r, STORE_E_INTERNAL, "R2 is not implemented yet (10001)");
	return NULL;
}

int
r2_upload_write(struct r2_upload *up, const uint8_t *data, size_t len, struct store_result *r)
{
	return -1;
}

void
r2_upload_finish(struct r2_upload *up, struct store_result *r)
{
	store_fail(r, STORE_E_INTERNAL, "R2 is not implemented yet (10001)");
}

void
r2_upload_abort(struct r2_upload *up)
{
}
