/*
 * r2_multipart: createMultipartUpload, completeMultipartUpload and
 * abortMultipartUpload (uploadPart streams, in r2_upload.c).  Completing
 * copies the chosen parts, in order, into one new blob (by the kernel where
 * it can, never through memory whole) and commits the object, the removal
 * of the upload and every part in one transaction.  Runs in the broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/r2_internal.h"
#include "common/log.h"

/* A part the caller listed, matched with the stored one. */
struct r2_chosen {
	int number;
	const char *etag;
	const struct r2_part *stored;
};

struct r2_complete {
	struct r2_mpu mpu;
	struct r2_part *stored; /* every part of the upload, by number */
	size_t nstored;
	struct r2_chosen *chosen;
	size_t nchosen;
	uint64_t size;
	char etag[R2_ETAG_MAX];
	struct r2_blob blob;
};

void
r2_method_mpu_create(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	const uint8_t *key;
	struct r2_mpu m;

	memset(&m, 0, sizeof(m));
	if (r2_key_parse(c->args, &key, &m.key_len, "createMultipartUpload", r) == -1 ||
	    r2_metadata_parse(c->args, &m.http, &m.custom, "createMultipartUpload", r) == -1)
		return;
	m.key = (uint8_t *)key; /* borrowed: m is not released */
	if (r2_random_id(m.id) == -1 || r2_tx_begin(b) == -1 ||
	    r2_mpu_store(b, &m, r2_now_ms()) == -1 || r2_tx_commit(b) == -1) {
		r2_tx_rollback(b);
		r2_fail_internal(r, "createMultipartUpload");
	} else if ((r->doc = json_pack("{s:s}", "uploadId", m.id)) == NULL)
		r2_fail_internal(r, "createMultipartUpload");
	json_decref(m.http);
	json_decref(m.custom);
}

static void
r2_complete_release(struct r2_bucket *b, struct r2_complete *x)
{
	r2_mpu_release(&x->mpu);
	free(x->stored);
	free(x->chosen);
	r2_blob_discard(b, &x->blob);
}

static void
r2_part_error(struct store_result *r, enum r2_code code, const char *text)
{
	r2_fail(r, code == R2_CODE_INVALID_ARGUMENT ? STORE_E_INVALID : STORE_E_FAILED, code,
	    "completeMultipartUpload", "%s", text);
}

/* Reads the "parts" argument: numbers ascending, each with an etag. */
static int
r2_complete_parse(struct r2_complete *x, json_t *parts, struct store_result *r)
{
	json_t *item;
	uint64_t n;
	size_t i;

	if (!json_is_array(parts) || json_array_size(parts) == 0 ||
	    json_array_size(parts) > R2_PARTS_MAX) {
		r2_part_error(r, R2_CODE_INVALID_ARGUMENT, "parts must be a non-empty array.");
		return -1;
	}
	if ((x->chosen = calloc(json_array_size(parts), sizeof(*x->chosen))) == NULL) {
		r2_fail_internal(r, "completeMultipartUpload");
		return -1;
	}
	json_array_foreach (parts, i, item) {
		json_t *etag = json_object_get(item, "etag");

		if (!r2_json_uint(json_object_get(item, "partNumber"), &n) || n < 1 ||
		    n > R2_PARTS_MAX || !json_is_string(etag)) {
			r2_part_error(r, R2_CODE_INVALID_ARGUMENT,
			    "Each part must have a partNumber and an etag.");
			return -1;
		}
		if (i > 0 && (int)n <= x->chosen[i - 1].number) {
			r2_part_error(r, R2_CODE_INVALID_PART,
			    "The list of parts was not in ascending order.");
			return -1;
		}
		x->chosen[i].number = (int)n;
		x->chosen[i].etag = json_string_value(etag);
	}
	x->nchosen = json_array_size(parts);
	return 0;
}

/* Pairs each chosen part with the stored one and checks R2's size rules. */
static int
r2_complete_match(struct r2 *r2, struct r2_complete *x, struct store_result *r)
{
	size_t j = 0;

	for (size_t i = 0; i < x->nchosen; i++) {
		while (j < x->nstored && x->stored[j].number < x->chosen[i].number)
			j++;
		if (j == x->nstored || x->stored[j].number != x->chosen[i].number ||
		    !r2_etag_is(x->chosen[i].etag, x->stored[j].etag)) {
			r2_part_error(r, R2_CODE_INVALID_PART,
			    "One or more of the specified parts could not be found.");
			return -1;
		}
		x->chosen[i].stored = &x->stored[j];
	}
	for (size_t i = 0; i + 1 < x->nchosen; i++) {
		if (x->chosen[i].stored->size < r2->min_part_size) {
			r2_part_error(r, R2_CODE_ENTITY_TOO_SMALL,
			    "Your proposed upload is smaller than the minimum allowed object "
			    "size.");
			return -1;
		}
		if (x->chosen[i].stored->size != x->chosen[0].stored->size) {
			r2_part_error(r, R2_CODE_PART_SIZES,
			    "All non-trailing parts must have the same length.");
			return -1;
		}
	}
	return 0;
}

static int
r2_hex_to_bin(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Copies the chosen parts into a new blob; the etag is the MD5 of their binary MD5s. */
static int
r2_complete_copy(struct r2_bucket *b, struct r2_complete *x)
{
	uint8_t md5[16], sum[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char hex[R2_HEX_MAX];
	unsigned int n;
	int fd, rc = -1;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
	    r2_blob_create(b, &x->blob) == -1)
		goto out;
	for (size_t i = 0; i < x->nchosen; i++) {
		const struct r2_part *p = x->chosen[i].stored;

		if (r2_hex_to_bin(p->etag, md5, sizeof(md5)) == -1 ||
		    EVP_DigestUpdate(ctx, md5, sizeof(md5)) != 1 ||
		    (fd = r2_blob_open(b, p->blob)) == -1)
			goto out;
		rc = r2_blob_append_file(&x->blob, fd, p->size);
		close(fd);
		if (rc == -1)
			goto out;
		rc = -1;
		x->size += p->size;
	}
	if (EVP_DigestFinal_ex(ctx, sum, &n) != 1)
		goto out;
	r2_hex(sum, n, hex);
	snprintf(x->etag, sizeof(x->etag), "%.32s-%zu", hex, x->nchosen);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Trashes every part of the upload and its rows; *bytes gets their total. */
static int
r2_mpu_remove(struct r2_bucket *b, const struct r2_complete *x, uint64_t *bytes)
{
	*bytes = 0;
	for (size_t i = 0; i < x->nstored; i++) {
		if (r2_trash_add(b, x->stored[i].blob) == -1)
			return -1;
		*bytes += x->stored[i].size;
	}
	return r2_mpu_delete(b, x->mpu.id);
}

/* Commits the new object in place of the upload; fills o (its key borrowed). */
static int
r2_complete_commit(struct r2 *r2, struct r2_bucket *b, struct r2_complete *x, struct r2_object *o,
    const char *tenant)
{
	struct r2_object old;
	uint64_t parts;
	int found;

	memset(o, 0, sizeof(*o));
	if ((found = r2_object_load(b, x->mpu.key, x->mpu.key_len, &old)) == -1)
		return -1;
	o->key = x->mpu.key;
	o->key_len = x->mpu.key_len;
	snprintf(o->blob, sizeof(o->blob), "%s", x->blob.id);
	o->size = x->size;
	snprintf(o->etag, sizeof(o->etag), "%s", x->etag);
	o->uploaded = r2_now_ms();
	o->http = x->mpu.http;
	o->custom = x->mpu.custom;
	if (r2_random_id(o->version) == -1 || (o->checksums = json_object()) == NULL ||
	    r2_blob_commit(b, &x->blob) == -1) {
		r2_object_release(&old);
		return -1;
	}
	if (r2_tx_begin(b) == -1 || (found && r2_trash_add(b, old.blob) == -1) ||
	    r2_mpu_remove(b, x, &parts) == -1 || r2_object_store(b, o) == -1 ||
	    r2_tx_commit(b) == -1) {
		r2_tx_rollback(b);
		r2_blob_unlink(b, o->blob);
		r2_object_release(&old);
		return -1;
	}
	r2_trash_flush(b);
	r2_usage_update(r2, tenant, o->size, parts + old.size);
	r2_object_release(&old);
	return 0;
}

void
r2_method_mpu_complete(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	const char *method = "completeMultipartUpload";
	struct r2_complete x;
	struct r2_object o;
	const uint8_t *key;
	size_t len;

	memset(&x, 0, sizeof(x));
	memset(&o, 0, sizeof(o));
	x.blob.fd = -1;
	if (r2_key_parse(c->args, &key, &len, method, r) == -1 ||
	    r2_mpu_find(b, c->args, key, len, &x.mpu, method, r) == -1 ||
	    r2_complete_parse(&x, json_object_get(c->args, "parts"), r) == -1)
		goto out;
	if (r2_part_list(b, x.mpu.id, &x.stored, &x.nstored) == -1) {
		r2_fail_internal(r, method);
		goto out;
	}
	if (r2_complete_match(r2, &x, r) == -1)
		goto out;
	if (r2_complete_copy(b, &x) == -1 || r2_complete_commit(r2, b, &x, &o, c->tenant) == -1) {
		json_decref(o.checksums);
		r2_fail_internal(r, method);
		goto out;
	}
	r->doc = json_pack("{s:o}", "object", r2_object_json(&o, R2_JSON_HTTP | R2_JSON_CUSTOM));
	json_decref(o.checksums);
	if (r->doc == NULL)
		r2_fail_internal(r, method);
out:
	r2_complete_release(b, &x);
}

void
r2_method_mpu_abort(
    struct r2 *r2, struct r2_bucket *b, const struct store_call *c, struct store_result *r)
{
	const char *method = "abortMultipartUpload";
	struct r2_complete x;
	const uint8_t *key;
	uint64_t bytes;
	size_t len;

	memset(&x, 0, sizeof(x));
	x.blob.fd = -1;
	if (r2_key_parse(c->args, &key, &len, method, r) == -1 ||
	    r2_mpu_find(b, c->args, key, len, &x.mpu, method, r) == -1)
		goto out;
	if (r2_part_list(b, x.mpu.id, &x.stored, &x.nstored) == -1 || r2_tx_begin(b) == -1 ||
	    r2_mpu_remove(b, &x, &bytes) == -1 || r2_tx_commit(b) == -1) {
		r2_tx_rollback(b);
		r2_fail_internal(r, method);
		goto out;
	}
	r2_trash_flush(b);
	r2_usage_update(r2, c->tenant, 0, bytes);
	if ((r->doc = json_object()) == NULL)
		r2_fail_internal(r, method);
out:
	r2_complete_release(b, &x);
}
