/*
 * r2_blob: the files that hold object and part bytes.  A body is written to
 * tmp/<id>, fsync'd, renamed to objects/<xx>/<id> and the folder fsync'd
 * before any index row names it; blobs a commit replaced are unlinked after
 * that commit.  Runs in the broker.
 */
#define _GNU_SOURCE /* copy_file_range */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/r2_internal.h"
#include "common/log.h"

#define R2_COPY_CHUNK (1u << 20)

static void
r2_blob_path(const char *id, char *out, size_t len)
{
	snprintf(out, len, "objects/%.2s/%s", id, id);
}

int
r2_blob_create(struct r2_bucket *b, struct r2_blob *blob)
{
	char path[sizeof("tmp/") + R2_ID_HEX];

	blob->fd = -1;
	if (r2_random_id(blob->id) == -1)
		return -1;
	snprintf(path, sizeof(path), "tmp/%s", blob->id);
	blob->fd =
	    openat(b->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (blob->fd == -1) {
		log_warn(
		    "r2: tenant '%s' bucket '%s': cannot create '%s'", b->tenant, b->name, path);
		return -1;
	}
	return 0;
}

int
r2_blob_write(struct r2_blob *blob, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(blob->fd, data, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("r2: cannot write blob '%s'", blob->id);
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens objects/<xx>, creating it (and syncing objects/) the first time. */
static int
r2_blob_fan(struct r2_bucket *b, const char *id)
{
	char fan[sizeof("objects/xx")];
	int fd, objects;

	snprintf(fan, sizeof(fan), "objects/%.2s", id);
	if (mkdirat(b->dirfd, fan, 0700) == 0) {
		if ((objects = openat(b->dirfd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		    -1)
			return -1;
		fd = fsync(objects);
		close(objects);
		if (fd == -1)
			return -1;
	} else if (errno != EEXIST)
		return -1;
	return openat(b->dirfd, fan, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int
r2_blob_commit(struct r2_bucket *b, struct r2_blob *blob)
{
	char from[sizeof("tmp/") + R2_ID_HEX], to[sizeof("objects/xx/") + R2_ID_HEX];
	int fan = -1, rc = -1;

	snprintf(from, sizeof(from), "tmp/%s", blob->id);
	r2_blob_path(blob->id, to, sizeof(to));
	if (fsync(blob->fd) == -1 || (fan = r2_blob_fan(b, blob->id)) == -1 ||
	    renameat(b->dirfd, from, b->dirfd, to) == -1)
		log_warn("r2: tenant '%s' bucket '%s': cannot store '%s'", b->tenant, b->name, to);
	else if (fsync(fan) == -1) {
		log_warn("r2: tenant '%s' bucket '%s': cannot sync '%s'", b->tenant, b->name, to);
		unlinkat(b->dirfd, to, 0);
	} else
		rc = 0;
	if (rc == -1)
		unlinkat(b->dirfd, from, 0);
	if (fan != -1)
		close(fan);
	close(blob->fd);
	blob->fd = -1;
	return rc;
}

void
r2_blob_discard(struct r2_bucket *b, struct r2_blob *blob)
{
	char path[sizeof("tmp/") + R2_ID_HEX];

	if (blob->fd == -1)
		return;
	close(blob->fd);
	blob->fd = -1;
	snprintf(path, sizeof(path), "tmp/%s", blob->id);
	if (unlinkat(b->dirfd, path, 0) == -1 && errno != ENOENT)
		log_warn(
		    "r2: tenant '%s' bucket '%s': cannot remove '%s'", b->tenant, b->name, path);
}

void
r2_blob_unlink(struct r2_bucket *b, const char *id)
{
	char path[sizeof("objects/xx/") + R2_ID_HEX];

	if (id == NULL || !r2_is_id(id))
		return;
	r2_blob_path(id, path, sizeof(path));
	if (unlinkat(b->dirfd, path, 0) == -1 && errno != ENOENT)
		log_warn(
		    "r2: tenant '%s' bucket '%s': cannot remove '%s'", b->tenant, b->name, path);
}

int
r2_blob_open(struct r2_bucket *b, const char *id)
{
	char path[sizeof("objects/xx/") + R2_ID_HEX];
	int fd;

	r2_blob_path(id, path, sizeof(path));
	if ((fd = openat(b->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		log_warn("r2: tenant '%s' bucket '%s': cannot open '%s'", b->tenant, b->name, path);
	return fd;
}

/* The portable path when the kernel cannot copy between these files. */
static int
r2_blob_copy_rw(struct r2_blob *blob, int in, off_t from, uint64_t len)
{
	uint8_t *buf = malloc(R2_COPY_CHUNK);
	int rc = 0;

	if (buf == NULL)
		return -1;
	while (len > 0 && rc == 0) {
		size_t want = len < R2_COPY_CHUNK ? (size_t)len : R2_COPY_CHUNK;
		ssize_t n = pread(in, buf, want, from);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || r2_blob_write(blob, buf, (size_t)n) == -1)
			rc = -1;
		else {
			from += n;
			len -= (uint64_t)n;
		}
	}
	free(buf);
	return rc;
}

int
r2_blob_append_file(struct r2_blob *blob, int in, uint64_t len)
{
	off_t from = 0;

	while (len > 0) {
		size_t want = len < (1u << 30) ? (size_t)len : (1u << 30);
		ssize_t n = copy_file_range(in, &from, blob->fd, NULL, want, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 &&
		    (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL))
			return r2_blob_copy_rw(blob, in, from, len);
		if (n <= 0) {
			log_warn("r2: cannot copy into blob '%s'", blob->id);
			return -1;
		}
		len -= (uint64_t)n;
	}
	return 0;
}

void
r2_trash_flush(struct r2_bucket *b)
{
	sqlite3_stmt *st = b->st[R2_ST_TRASH_LIST];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r2_blob_unlink(b, (const char *)sqlite3_column_text(st, 0));
	if (rc != SQLITE_DONE)
		r2_log_db(b, "read the trash");
	sqlite3_reset(st);
}
