/*
 * meta_tokens: tenant-scoped admin tokens in meta.sqlite.  Only a SHA-256
 * of a token is stored and looked up; the token itself exists once, in the
 * caller's buffer from meta_token_create.  Runs in the supervisor; the
 * statements are meta.c's (meta_internal.h), every input bound.
 */
#include "supervisor/meta.h"

#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "supervisor/meta_internal.h"

/* SHA-256 of the token text: what is stored and looked up, never the token. */
static int
meta_token_hash(const char *token, unsigned char out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL) != 1 || len != 32) {
		log_warnx("meta: cannot hash a token");
		return -1;
	}
	return 0;
}

int
meta_token_create(struct meta *m, const char *tenant, char id[META_TOKEN_ID_LEN + 1],
    char token[META_TOKEN_LEN + 1])
{
	unsigned char hash[32];
	sqlite3_stmt *st;
	int rc = -1;

	id[0] = token[0] = '\0';
	if (!meta_name_is_valid(tenant))
		return -1;
	if (!meta_tenant_exists(m, tenant))
		return 0;
	if (meta_random_hex(id, META_TOKEN_ID_LEN / 2, "a token id") == -1 ||
	    meta_random_hex(token, META_TOKEN_LEN / 2, "a token") == -1 ||
	    meta_token_hash(token, hash) == -1)
		goto out;
	st = meta_stmt(m, META_TOKEN_INSERT);
	if (meta_bind_text(st, 1, id) == -1 || meta_bind_text(st, 2, tenant) == -1 ||
	    sqlite3_bind_blob(st, 3, hash, sizeof(hash), SQLITE_TRANSIENT) != SQLITE_OK ||
	    meta_bind_int(st, 4, time(NULL)) == -1 || meta_exec_stmt(m, st, "store a token") == -1)
		goto out;
	rc = 1;
out:
	explicit_bzero(hash, sizeof(hash));
	if (rc != 1) {
		explicit_bzero(token, META_TOKEN_LEN + 1);
		id[0] = '\0';
	}
	return rc;
}

int
meta_token_lookup(struct meta *m, const char *token, char tenant[META_NAME_MAX + 1])
{
	unsigned char hash[32];
	sqlite3_stmt *st;
	int rc;

	tenant[0] = '\0';
	if (token == NULL || strlen(token) != META_TOKEN_LEN)
		return 0;
	if (meta_token_hash(token, hash) == -1)
		return -1;
	st = meta_stmt(m, META_TOKEN_LOOKUP);
	if (sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		meta_copy_name(tenant, sqlite3_column_text(st, 0));
	rc = meta_step_end(m, st, rc, "look up a token");
	/* The statement keeps no copy of the hash past the look-up. */
	sqlite3_clear_bindings(st);
	if (rc == 1)
		return meta_name_is_valid(tenant) ? 1 : 0;
	return rc;
}

int
meta_token_delete(struct meta *m, const char *tenant, const char *id)
{
	sqlite3_stmt *st = meta_stmt(m, META_TOKEN_DELETE);

	if (meta_bind_text(st, 1, id) == -1 || meta_bind_text(st, 2, tenant) == -1)
		return -1;
	return meta_exec_changes(m, st, "delete a token");
}

int
meta_foreach_token(struct meta *m, const char *tenant, meta_token_cb cb, void *arg)
{
	sqlite3_stmt *st = meta_stmt(m, META_TOKEN_TENANT);
	struct meta_token t;
	int rc, stop = 0;

	if (meta_bind_text(st, 1, tenant) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		meta_copy_text(t.id, sizeof(t.id), sqlite3_column_text(st, 0));
		meta_copy_name(t.tenant, sqlite3_column_text(st, 1));
		t.created_at = sqlite3_column_int64(st, 2);
		if ((stop = cb(&t, arg)) != 0)
			break;
	}
	return meta_walk_end(m, st, rc, stop, "list tokens");
}
