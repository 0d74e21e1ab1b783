/*
 * r2_upload: the streamed methods, put and uploadPart.  begin checks the
 * arguments (and put's conditions) and opens tmp/<id>; each piece is
 * appended and hashed; finish checks the checksum, the conditions again and
 * the quota, moves the blob into objects/ and commits its index row.  The
 * body is never held in memory.  Runs in the broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/r2_internal.h"
#include "common/log.h"

struct r2_upload {
	struct r2 *r2;
	struct r2_bucket *b; /* held */
	const struct store_call *c;
	const char *method; /* "put" or "uploadPart" */
	bool part;
	const uint8_t *key; /* borrowed from c->args */
	size_t key_len;
	bool discard; /* put: a condition failed at begin; the body goes nowhere */
	struct r2_cond cond;
	struct r2_checksum want;
	json_t *http;
	json_t *custom;
	char upload_id[R2_ID_HEX + 1];
	int part_number;
	struct r2_blob blob;
	uint64_t written;
	uint64_t replaced; /* bytes of what this write replaces, as seen at begin */
	EVP_MD_CTX *md5;
	EVP_MD_CTX *sha;
};

static void
r2_upload_free(struct r2_upload *up)
{
	if (up == NULL)
		return;
	EVP_MD_CTX_free(up->md5);
	EVP_MD_CTX_free(up->sha);
	json_decref(up->http);
	json_decref(up->custom);
	if (up->b != NULL) {
		r2_blob_discard(up->b, &up->blob);
		r2_bucket_release(up->r2, up->b);
	}
	free(up);
}

static int
r2_upload_begin_put(struct r2_upload *up, struct store_result *r)
{
	struct r2_object old;
	int found;

	if (r2_metadata_parse(up->c->args, &up->http, &up->custom, "put", r) == -1 ||
	    r2_checksum_parse(up->c->args, &up->want, "put", r) == -1 ||
	    r2_cond_parse(up->c->args, &up->cond, "put", r) == -1)
		return -1;
	if ((found = r2_object_load(up->b, up->key, up->key_len, &old)) == -1) {
		r2_fail_internal(r, "put");
		return -1;
	}
	up->replaced = found ? old.size : 0;
	up->discard = !r2_cond_passes(&up->cond, found ? &old : NULL);
	r2_object_release(&old);
	if (up->want.md != NULL && up->want.md != EVP_md5() &&
	    ((up->sha = EVP_MD_CTX_new()) == NULL ||
		EVP_DigestInit_ex(up->sha, up->want.md, NULL) != 1)) {
		r2_fail_internal(r, "put");
		return -1;
	}
	return 0;
}

int
r2_mpu_find(struct r2_bucket *b, json_t *args, const uint8_t *key, size_t key_len, struct r2_mpu *m,
    const char *method, struct store_result *r)
{
	json_t *id = json_object_get(args, "uploadId");
	int found = 0;

	memset(m, 0, sizeof(*m));
	if (json_is_string(id) && r2_is_id(json_string_value(id)) &&
	    (found = r2_mpu_load(b, json_string_value(id), m)) == -1) {
		r2_fail_internal(r, method);
		return -1;
	}
	if (found != 1 || m->key_len != key_len || memcmp(m->key, key, key_len) != 0) {
		r2_mpu_release(m);
		r2_fail(r, STORE_E_NOT_FOUND, R2_CODE_NO_SUCH_UPLOAD, method,
		    "The specified multipart upload does not exist.");
		return -1;
	}
	return 0;
}

static int
r2_upload_begin_part(struct r2_upload *up, struct store_result *r)
{
	json_t *number = json_object_get(up->c->args, "partNumber");
	struct r2_part old;
	struct r2_mpu m;
	uint64_t n;
	int found;

	if (!r2_json_uint(number, &n) || n < 1 || n > R2_PARTS_MAX) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, "uploadPart",
		    "Part number must be between 1 and %d (inclusive).", R2_PARTS_MAX);
		return -1;
	}
	up->part_number = (int)n;
	if (r2_mpu_find(up->b, up->c->args, up->key, up->key_len, &m, "uploadPart", r) == -1)
		return -1;
	snprintf(up->upload_id, sizeof(up->upload_id), "%s", m.id);
	r2_mpu_release(&m);
	if ((found = r2_part_load(up->b, up->upload_id, up->part_number, &old)) == -1) {
		r2_fail_internal(r, "uploadPart");
		return -1;
	}
	up->replaced = found ? old.size : 0;
	return 0;
}

static int
r2_upload_open_body(struct r2_upload *up, struct store_result *r)
{
	if (up->discard)
		return 0;
	if ((up->md5 = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) != 1 ||
	    r2_blob_create(up->b, &up->blob) == -1) {
		r2_fail_internal(r, up->method);
		return -1;
	}
	return 0;
}

struct r2_upload *
r2_upload_begin(struct r2 *r2, const struct store_call *c, struct store_result *r)
{
	const char *method = c->method != NULL ? c->method : "";
	struct r2_upload *up;
	struct r2_bucket *b;
	bool part = strcmp(method, "uploadPart") == 0;

	if (!json_is_object(c->args) || (!part && strcmp(method, "put") != 0)) {
		r2_fail(r, STORE_E_INVALID, R2_CODE_INVALID_ARGUMENT, method,
		    "This method takes no streamed body.");
		return NULL;
	}
	if ((b = r2_bucket_find(r2, c, method, r)) == NULL)
		return NULL;
	if ((up = calloc(1, sizeof(*up))) == NULL) {
		r2_fail_internal(r, method);
		return NULL;
	}
	up->r2 = r2;
	up->b = b;
	up->c = c;
	up->method = part ? "uploadPart" : "put";
	up->part = part;
	up->blob.fd = -1;
	r2_bucket_hold(b);
	if (r2_key_parse(c->args, &up->key, &up->key_len, up->method, r) == -1 ||
	    (part ? r2_upload_begin_part(up, r) : r2_upload_begin_put(up, r)) == -1 ||
	    r2_upload_open_body(up, r) == -1) {
		r2_upload_free(up);
		return NULL;
	}
	return up;
}

/* The bucket was dropped while the body streamed. */
static void
r2_upload_dropped(struct r2_upload *up, struct store_result *r)
{
	r2_fail(r, STORE_E_NOT_FOUND, R2_CODE_NO_SUCH_BUCKET, up->method,
	    "The specified bucket does not exist.");
}

int
r2_upload_write(struct r2_upload *up, const uint8_t *data, size_t len, struct store_result *r)
{
	if (up->b->dropped) {
		r2_upload_dropped(up, r);
		return -1;
	}
	if (up->discard || len == 0)
		return 0;
	if (len > R2_PUT_MAX - up->written) {
		r2_fail(r, STORE_E_TOO_LARGE, R2_CODE_TOO_LARGE, up->method,
		    "Your proposed upload exceeds the maximum allowed object size.");
		return -1;
	}
	if (!r2_quota_allows(up->r2, up->c, up->written + len, up->replaced, up->method, r))
		return -1;
	if (r2_blob_write(&up->blob, data, len) == -1 ||
	    EVP_DigestUpdate(up->md5, data, len) != 1 ||
	    (up->sha != NULL && EVP_DigestUpdate(up->sha, data, len) != 1)) {
		r2_fail_internal(r, up->method);
		return -1;
	}
	up->written += len;
	return 0;
}

static int
r2_digest_hex(EVP_MD_CTX *ctx, char *hex)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (EVP_DigestFinal_ex(ctx, md, &n) != 1)
		return -1;
	r2_hex(md, n, hex);
	return 0;
}

/* Moves the body into objects/ and commits what `store` writes to the index. */
static int
r2_upload_commit(
    struct r2_upload *up, const char *old_blob, int (*store)(struct r2_upload *, void *), void *arg)
{
	struct r2_bucket *b = up->b;
	char id[R2_ID_HEX + 1];

	snprintf(id, sizeof(id), "%s", up->blob.id);
	if (r2_blob_commit(b, &up->blob) == -1)
		return -1;
	if (r2_tx_begin(b) == -1 || (old_blob != NULL && r2_trash_add(b, old_blob) == -1) ||
	    store(up, arg) == -1 || r2_tx_commit(b) == -1) {
		r2_tx_rollback(b);
		r2_blob_unlink(b, id);
		return -1;
	}
	r2_trash_flush(b);
	return 0;
}

static int
r2_put_store(struct r2_upload *up, void *arg)
{
	return r2_object_store(up->b, arg);
}

static json_t *
r2_put_checksums(const struct r2_upload *up, const char *md5, const char *sha)
{
	json_t *sums = json_pack("{s:s}", "md5", md5);

	if (sums != NULL && up->sha != NULL &&
	    json_object_set_new(sums, up->want.name, json_string(sha)) == -1) {
		json_decref(sums);
		return NULL;
	}
	return sums;
}

static void
r2_put_finish(struct r2_upload *up, const char *md5, const char *sha, struct store_result *r)
{
	struct r2_object old, o;
	int found;

	if ((found = r2_object_load(up->b, up->key, up->key_len, &old)) == -1) {
		r2_fail_internal(r, "put");
		return;
	}
	if (!r2_cond_passes(&up->cond, found ? &old : NULL)) {
		if ((r->doc = json_pack("{s:n}", "object")) == NULL)
			r2_fail_internal(r, "put");
		goto out;
	}
	if (!r2_quota_allows(up->r2, up->c, up->written, old.size, "put", r))
		goto out;
	memset(&o, 0, sizeof(o));
	o.key = (uint8_t *)up->key; /* borrowed: o is not released */
	o.key_len = up->key_len;
	snprintf(o.blob, sizeof(o.blob), "%s", up->blob.id);
	o.size = up->written;
	snprintf(o.etag, sizeof(o.etag), "%.32s", md5);
	o.uploaded = r2_now_ms();
	o.http = up->http;
	o.custom = up->custom;
	if (r2_random_id(o.version) == -1 ||
	    (o.checksums = r2_put_checksums(up, md5, sha)) == NULL ||
	    r2_upload_commit(up, found ? old.blob : NULL, r2_put_store, &o) == -1) {
		r2_fail_internal(r, "put");
	} else {
		r2_usage_update(up->r2, up->c->tenant, o.size, old.size);
		if ((r->doc = json_pack("{s:o}", "object",
			 r2_object_json(&o, R2_JSON_HTTP | R2_JSON_CUSTOM))) == NULL)
			r2_fail_internal(r, "put");
	}
	json_decref(o.checksums);
out:
	r2_object_release(&old);
}

static int
r2_part_store(struct r2_upload *up, void *arg)
{
	sqlite3_stmt *st = up->b->st[R2_ST_PART_PUT];
	const struct r2_part *p = arg;

	sqlite3_bind_text(st, 1, up->upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, p->number);
	sqlite3_bind_text(st, 3, p->blob, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)p->size);
	sqlite3_bind_text(st, 5, p->etag, -1, SQLITE_STATIC);
	return r2_exec(up->b, R2_ST_PART_PUT);
}

static void
r2_part_finish(struct r2_upload *up, const char *md5, struct store_result *r)
{
	struct r2_part old, p;
	struct r2_mpu m;
	int found;

	/* The upload may have been completed or aborted while the body streamed. */
	if (r2_mpu_find(up->b, up->c->args, up->key, up->key_len, &m, "uploadPart", r) == -1)
		return;
	r2_mpu_release(&m);
	if ((found = r2_part_load(up->b, up->upload_id, up->part_number, &old)) == -1) {
		r2_fail_internal(r, "uploadPart");
		return;
	}
	if (!r2_quota_allows(up->r2, up->c, up->written, found ? old.size : 0, "uploadPart", r))
		return;
	p.number = up->part_number;
	p.size = up->written;
	snprintf(p.blob, sizeof(p.blob), "%s", up->blob.id);
	snprintf(p.etag, sizeof(p.etag), "%.32s", md5);
	if (r2_upload_commit(up, found ? old.blob : NULL, r2_part_store, &p) == -1) {
		r2_fail_internal(r, "uploadPart");
		return;
	}
	r2_usage_update(up->r2, up->c->tenant, p.size, found ? old.size : 0);
	if ((r->doc = json_pack("{s:i,s:s}", "partNumber", p.number, "etag", p.etag)) == NULL)
		r2_fail_internal(r, "uploadPart");
}

static bool
r2_checksum_matches(struct r2_upload *up, const char *md5, const char *sha, struct store_result *r)
{
	const char *got = up->sha != NULL ? sha : md5;

	if (up->want.name == NULL || strcmp(up->want.hex, got) == 0)
		return true;
	r2_fail(r, STORE_E_FAILED, R2_CODE_BAD_DIGEST, "put",
	    "The %s checksum you specified did not match what we received.", up->want.label);
	return false;
}

void
r2_upload_finish(struct r2_upload *up, struct store_result *r)
{
	char md5[R2_HEX_MAX], sha[R2_HEX_MAX];

	md5[0] = sha[0] = '\0';
	if (up->b->dropped) {
		r2_upload_dropped(up, r);
	} else if (up->discard) {
		if ((r->doc = json_pack("{s:n}", "object")) == NULL)
			r2_fail_internal(r, "put");
	} else if (r2_digest_hex(up->md5, md5) == -1 ||
	    (up->sha != NULL && r2_digest_hex(up->sha, sha) == -1)) {
		r2_fail_internal(r, up->method);
	} else if (up->part) {
		r2_part_finish(up, md5, r);
	} else if (r2_checksum_matches(up, md5, sha, r)) {
		r2_put_finish(up, md5, sha, r);
	}
	r2_upload_free(up);
}

void
r2_upload_abort(struct r2_upload *up)
{
	r2_upload_free(up);
}
