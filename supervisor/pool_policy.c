/*
 * pool_policy: the pool's policies as small functions: when a sandbox is
 * recycled (requests with per-sandbox jitter, age, CPU, RSS), and the pool's
 * state for /status.  Runs in the supervisor.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "supervisor/core.h"
#include "supervisor/pool_internal.h"
#include "supervisor/registry.h"

/* A splitmix64 step: the jitter is fixed per sandbox, spread across sandboxes. */
static uint64_t
pool_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* recycle_after_requests for this sandbox: within +-10%, the same every time asked. */
static uint64_t
pool_recycle_threshold(const struct sandbox *sbx, unsigned n)
{
	uint64_t spread = n / 10, seed;

	if (spread == 0)
		return n;
	seed = pool_mix(((uint64_t)sbx->slot << 32 | sbx->generation) ^ (uint64_t)sbx->pid);
	return n - spread + seed % (2 * spread + 1);
}

int64_t
pool_sandbox_rss(const struct sandbox *sbx)
{
	char path[64], text[128];
	unsigned long long size, resident;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)sbx->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	if (sscanf(text, "%llu %llu", &size, &resident) != 2)
		return -1;
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

const char *
pool_recycle_reason(struct pool *p, const struct sandbox *sbx)
{
	const struct config *c = &p->core->cfg;
	int64_t v;

	if (c->recycle_requests > 0 &&
	    sbx->served >= pool_recycle_threshold(sbx, c->recycle_requests))
		return "recycle_requests";
	if (c->recycle_age_s > 0 && pool_now() - sbx->started >= (time_t)c->recycle_age_s)
		return "recycle_age";
	if (c->recycle_cpu_s > 0 && (v = pool_sandbox_cpu_ns(sbx)) >= 0 &&
	    (uint64_t)v >= (uint64_t)c->recycle_cpu_s * 1000000000ULL)
		return "recycle_cpu";
	if (c->recycle_rss_mb > 0 && (v = pool_sandbox_rss(sbx)) >= 0 &&
	    (uint64_t)v >= (uint64_t)c->recycle_rss_mb << 20)
		return "recycle_rss";
	return NULL;
}

static const char *
pool_state_name(const struct sandbox *sbx)
{
	static const char *const names[] = { "starting", "blank", "loading", "ready" };

	return sbx->closing ? "closing" : names[sbx->state];
}

int
pool_status_json(const struct pool *p, struct buf *out)
{
	const struct sandbox *sbx;
	const struct pool_tenant *t;
	const char *sep = "";

	if (buf_printf(out,
		"\"pool\":{\"sandboxes\":%u,\"blank\":%u,\"starting\":%u,\"spawning\":%u,"
		"\"validations_waiting\":%u,\"list\":[",
		p->nall, p->nblanks, p->nstarting, p->nspawning, p->nvalidations) == -1)
		return -1;
	/* Names are [A-Za-z0-9_-] (meta_name_is_valid): no JSON escaping needed. */
	TAILQ_FOREACH (sbx, &p->all, all_entry) {
		if (buf_printf(out,
			"%s{\"pid\":%ld,\"slot\":%u,\"state\":\"%s\",\"tenant\":\"%s\","
			"\"worker\":\"%s\",\"inflight\":%u,\"served\":%llu}",
			sep, (long)sbx->pid, sbx->slot, pool_state_name(sbx),
			pool_sandbox_tenant(sbx), pool_sandbox_worker(sbx), sbx->inflight,
			(unsigned long long)sbx->served) == -1)
			return -1;
		sep = ",";
	}
	if (buf_append_str(out, "],\"tenants\":[") == -1)
		return -1;
	sep = "";
	TAILQ_FOREACH (t, &p->tenants, entry) {
		if (buf_printf(out, "%s{\"tenant\":\"%s\",\"sandboxes\":%u,\"queued\":%u}", sep,
			t->name, t->nsandboxes, t->nwaiting) == -1)
			return -1;
		sep = ",";
	}
	return buf_append_str(out, "]}");
}
