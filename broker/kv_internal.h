/*
 * kv_internal: what the files of the KV backend (broker/kv*.c) share: the
 * on-disk layout, the entry primitives, the argument checks and the test
 * hooks.  Runs in the broker.  The contract with the rest of the broker is
 * the KV section of broker/store.h; nothing here is part of it.
 *
 * On-disk layout: one LMDB environment (<data_dir>/kv) with these named
 * databases.  Integers are big-endian so that byte order is numeric order.
 *
 *   "meta"    "seq" -> u64, the last number handed out; namespace numbers
 *             and value ids share it and are never reused
 *   "ns"      "<tenant>/<namespace id>" -> u64 namespace number; live
 *             namespaces only, so a dropped and re-created namespace gets a
 *             new number and never sees the old keys
 *   "names"   u64 namespace number -> state byte + "<tenant>/<namespace id>"
 *             (state KV_NS_DROPPING while drop still purges its keys)
 *   "keys"    DUPSORT: u64 namespace + head -> tail field + u64 value id
 *   "vals"    u64 value id -> record (below)
 *   "expiry"  u64 expiration + u64 value id -> empty: the sweep's index
 *   "usage"   "<tenant>" -> u64 keys + u64 bytes of all its namespaces
 *
 * Keys.  LMDB keys (and DUPSORT data items) are at most 511 bytes, less
 * than a namespace prefix plus a 512-byte user key.  A user key is split
 * into its head, the first KV_HEAD_MAX bytes, which goes into the LMDB key,
 * and its tail, the rest (at most KV_TAIL_MAX bytes), which goes into the
 * data item as a fixed-size field: the tail zero-padded to KV_TAIL_MAX
 * bytes, then its length.  LMDB orders by key, then by data item; byte
 * order of (head, tail field) is byte order of the user key, including
 * tails that end in NUL bytes (the length byte decides those), so list
 * order is exactly bytewise-lexicographic and distinct keys never share an
 * entry.  The value lives in "vals" under an id, as keys must stay small.
 *
 * Record (a "vals" value):
 *   u8 format (1), u64 namespace, u64 expiration (0 = none),
 *   u16 key length, u16 metadata length, key, metadata text, value.
 * The record holds the whole key so that the sweep can find the entry of
 * an expired id.  A key's size for the kv_bytes quota is key + metadata +
 * value bytes.
 */
#ifndef EDGED_KV_INTERNAL_H
#define EDGED_KV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "broker/store.h"
#include "common/base64.h"
#include "common/utf8.h"

#define KV_KEY_MAX 512
#define KV_HEAD_MAX 480
#define KV_TAIL_MAX (KV_KEY_MAX - KV_HEAD_MAX)
#define KV_TAIL_FIELD (KV_TAIL_MAX + 1)
#define KV_ITEM_SIZE (KV_TAIL_FIELD + 8)
#define KV_VALUE_MAX (25u << 20)
#define KV_METADATA_MAX 1024
#define KV_EXPIRATION_MIN 60 /* seconds from now */
#define KV_GET_BULK_MAX 100
#define KV_LIST_MAX 1000
#define KV_BULK_ITEMS_MAX 10000
#define KV_RECORD_HEADER 21
/* Longest "<tenant>/<namespace id>" with its NUL. */
#define KV_NS_NAME_MAX (64 + 1 + 32 + 1)

/* An MDB_* code or errno never uses this: a method refused the call and set the result. */
#define KV_REFUSED (-1)

enum kv_ns_state { KV_NS_LIVE = 0, KV_NS_DROPPING = 1 };

/* Seconds since the epoch; the test suite replaces it with kv_set_clock(). */
typedef uint64_t kv_clock_fn(void);

struct kv {
	MDB_env *env;
	MDB_dbi meta, ns, names, keys, vals, expiry, usage;
	kv_clock_fn *clock;
	char *path;
};

/* What one write changes in a tenant's usage. */
struct kv_delta {
	int64_t keys;
	int64_t bytes;
};

struct kv_usage {
	uint64_t keys;
	uint64_t bytes;
};

/* A record as read; pointers into the map, valid until the transaction writes or ends. */
struct kv_record {
	uint64_t ns;
	uint64_t expiration;
	const uint8_t *key;
	size_t key_len;
	const char *metadata; /* compact JSON text; metadata_len 0: none */
	size_t metadata_len;
	const uint8_t *value;
	size_t value_len;
};

/* What a put stores (all borrowed). */
struct kv_put {
	const uint8_t *key;
	size_t key_len;
	uint64_t expiration;
	const char *metadata;
	size_t metadata_len;
	const uint8_t *value;
	size_t value_len;
};

/* A walk over one namespace's keys in order; key/len/id describe the current one. */
struct kv_iter {
	struct kv *kv;
	MDB_cursor *cursor;
	uint64_t ns;
	uint8_t key[KV_KEY_MAX];
	size_t len;
	uint64_t id;
};

/* A method: checks c->args (an object) and body, and fills r. */
typedef void kv_method_fn(struct kv *kv, const struct store_call *c, const uint8_t *body,
    size_t len, struct store_result *r);

/* ---- kv.c: the environment, transactions ---- */

/* Runs in one write transaction; returns 0 (commit), KV_REFUSED with r set, or an MDB code. */
typedef int kv_txn_fn(struct kv *kv, MDB_txn *txn, void *arg, struct store_result *r);

/*
 * Runs fn in a write transaction and commits it (durably) when fn returns
 * 0.  On MDB_MAP_FULL the map grows and fn runs once more, so fn must not
 * keep state from a failed attempt.  0 when committed; -1 with r set
 * (fn's refusal, or STORE_E_INTERNAL logged with c's identity; c may be
 * NULL for housekeeping).
 */
int kv_write(struct kv *kv, const struct store_call *c, const char *op, kv_txn_fn *fn, void *arg,
    struct store_result *r);
/* A read-only transaction; 0, or -1 with r set to STORE_E_INTERNAL (logged). */
int kv_read_begin(struct kv *kv, const struct store_call *c, const char *op, MDB_txn **txn,
    struct store_result *r);
/* Sets STORE_E_INTERNAL for an MDB code and logs it. */
void kv_fail_internal(struct store_result *r, const struct store_call *c, const char *op, int rc);
/* The clock kv_call and kv_sweep use (seconds); NULL restores the real one.  For tests. */
void kv_set_clock(struct kv *kv, kv_clock_fn *clock);

/* ---- kv_ns.c: namespaces ---- */

/* The namespace number of c's (tenant, resource): 0, KV_REFUSED (NOT_FOUND set), or an MDB code. */
int kv_ns_lookup(
    struct kv *kv, MDB_txn *txn, const struct store_call *c, uint64_t *ns, struct store_result *r);
/* The tenant owning namespace number ns, into tenant[size]. */
int kv_ns_tenant(struct kv *kv, MDB_txn *txn, uint64_t ns, char *tenant, size_t size);
/* Purges the keys of namespaces whose drop was interrupted (logs failures). */
void kv_ns_purge_dropped(struct kv *kv);
kv_method_fn kv_ns_create, kv_ns_drop;

/* ---- kv_op.c, kv_bulk.c: the other methods ---- */

kv_method_fn kv_op_get, kv_op_get_many, kv_op_put, kv_op_delete, kv_op_list;
kv_method_fn kv_bulk_put, kv_bulk_delete;

/* Puts that one write transaction stores: kv_puts_txn's argument. */
struct kv_puts {
	const struct store_call *c;
	const char *op;           /* the method in refusals: "PUT", "PUT_BULK" */
	const struct kv_put *put; /* n of them, borrowed */
	size_t n;
};
/*
 * A kv_txn_fn over a struct kv_puts (kv_op.c): stores every put in c's
 * namespace, and refuses them all when the tenant's usage would pass its
 * limits.
 */
kv_txn_fn kv_puts_txn;

/* ---- kv_entry.c: entries, records, usage ---- */

/* Stores p under (ns, p->key), replacing what was there; adds the usage change to d. */
int kv_entry_put(
    struct kv *kv, MDB_txn *txn, uint64_t ns, const struct kv_put *p, struct kv_delta *d);
/* The record of (ns, key): 0, MDB_NOTFOUND, or an MDB code.  Expired records are returned too. */
int kv_entry_get(struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len,
    struct kv_record *rec);
/* Removes (ns, key) if it exists; 0 either way, or an MDB code. */
int kv_entry_delete(
    struct kv *kv, MDB_txn *txn, uint64_t ns, const uint8_t *key, size_t len, struct kv_delta *d);
/* Removes the entry whose value id is `id`; sets its namespace.  0, MDB_NOTFOUND, or a code. */
int kv_entry_delete_id(struct kv *kv, MDB_txn *txn, uint64_t id, uint64_t *ns, struct kv_delta *d);
/* The record stored under value id `id`. */
int kv_record_read(struct kv *kv, MDB_txn *txn, uint64_t id, struct kv_record *rec);
bool kv_record_is_expired(const struct kv_record *rec, uint64_t now_s);

int kv_iter_open(struct kv *kv, MDB_txn *txn, uint64_t ns, struct kv_iter *it);
/* Moves to the first key >= from (len 0: the first key): 0, MDB_NOTFOUND (none), or a code. */
int kv_iter_seek(struct kv_iter *it, const uint8_t *from, size_t len);
int kv_iter_next(struct kv_iter *it);
/* Removes the current key (whatever its record says); the walk must seek again after. */
int kv_iter_delete(struct kv_iter *it, struct kv_delta *d);
void kv_iter_close(struct kv_iter *it);

/* The next number of the "seq" counter. */
int kv_seq_next(struct kv *kv, MDB_txn *txn, uint64_t *out);
int kv_usage_get(struct kv *kv, MDB_txn *txn, const char *tenant, struct kv_usage *u);
/* Adds d to the tenant's usage (clamped at 0). */
int kv_usage_apply(struct kv *kv, MDB_txn *txn, const char *tenant, const struct kv_delta *d);
/*
 * Whether the usage `before` plus d stays within the limits; a change
 * that does not grow a count passes even over a (lowered) quota.
 * Sets STORE_E_TOO_LARGE when not.
 */
bool kv_usage_allows(const struct store_limits *limits, const struct kv_usage *before,
    const struct kv_delta *d, const char *op, struct store_result *r);

void kv_put_u64(uint8_t *p, uint64_t v);
uint64_t kv_get_u64(const uint8_t *p);

/* ---- kv_text.c: argument checks and text ---- */

/* A JSON string of s with every invalid sequence replaced by U+FFFD; NULL on ENOMEM. */
json_t *kv_utf8_string(const uint8_t *s, size_t n);
/*
 * A list cursor's text: base64url without padding, NUL-terminated, into
 * out (room for 4 * ceil(n / 3) + 1); returns the length.
 */
size_t kv_base64url_encode(const uint8_t *in, size_t n, char *out);
/*
 * How KV reads base64 (bulk values, cursors; add BASE64_URL for cursors):
 * padding optional but right when present, no bits left over, so that one
 * text stands for one byte string.
 */
#define KV_BASE64_STRICT (BASE64_EXACT_PAD | BASE64_ZERO_BITS)
/* Checks a key as Cloudflare does; 0, or -1 with r set.  op names the operation ("PUT"). */
int kv_key_check(const char *op, const uint8_t *key, size_t len, struct store_result *r);
/* args[name] as a checked key. */
int kv_arg_key(const json_t *args, const char *name, const char *op, const uint8_t **key,
    size_t *len, struct store_result *r);
/*
 * The expiration of a put from its "expiration" and "expiration_ttl"
 * members (either may be NULL or JSON null; 0 when both are).
 */
int kv_arg_expiration(const json_t *expiration, const json_t *ttl, uint64_t now_s, const char *op,
    uint64_t *out, struct store_result *r);
/* The compact text of a metadata value (NULL or JSON null: *text NULL); free() it. */
int kv_arg_metadata(
    const json_t *metadata, const char *op, char **text, size_t *len, struct store_result *r);

#endif
