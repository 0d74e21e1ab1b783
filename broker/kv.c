/*
 * kv: KV namespaces on LMDB (placeholder until the backend lands; see
 * broker/store.h for the contract).  Runs in the broker.
 */
#include <stdlib.h>

#include "broker/store.h"

struct kv {
	int unused;
};

struct kv *
kv_open(const char *data_dir)
{
	(void)data_dir;
	return calloc(1, sizeof(struct kv));
}

void
kv_close(struct kv *kv)
{
	free(kv);
}

void
kv_call(struct kv *kv, const struct store_call *c, const uint8_t *body, size_t len,
    struct store_result *r)
{
	store_fail(r, STORE_E_INTERNAL, "KV is not implemented yet");
}

size_t
kv_sweep(struct kv *kv, uint64_t now_s, size_t max)
{
	return 0;
}
