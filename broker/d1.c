/*
 * d1: D1 databases on sqlite3 (placeholder until the backend lands; see
 * broker/store.h for the contract).  Runs in the broker.
 */
#include <stdlib.h>

#include "broker/store.h"

struct d1 {
	int unused;
};

struct d1 *
d1_open(const char *data_dir)
{
	(void)data_dir;
	return calloc(1, sizeof(struct d1));
}

void
d1_close(struct d1 *d1)
{
	free(d1);
}

void
d1_call(struct d1 *d1, const struct store_call *c, struct store_result *r)
{
	store_fail(r, STORE_E_INTERNAL, "D1_ERROR: not implemented yet");
}
