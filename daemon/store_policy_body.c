/*
 * store_policy_body.c: where a policy part's body is kept. A _policy row (store_open.c)
 * holds no body: the log entry that carries the part holds the same bytes in _log.raw, so
 * the row keeps where they sit (offset and length in raw) and the first bytes of the
 * part's signed body hash. store_policy.c reads a body back with one small blob read,
 * never the whole entry, and a body whose hash does not match is an error (ARR_EDB),
 * never read as policy. Whatever rewrites a logged envelope (erasure, redaction) re-points
 * the rows of its entry here (store_policy_repoint), so that no row points at bytes that
 * moved or are gone. It decides nothing about what a policy means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

/*
 * Where part i's body sits in the envelope raw (len bytes) as logged: *off, or
 * ARR_ENOTFOUND when the logged envelope holds no body for it. raw is decoded: a logged
 * envelope always decodes.
 */
static int
body_off(const uint8_t *raw, size_t len, size_t i, int64_t *off)
{
	struct changeset *cs = NULL;
	int rc;

	if ((rc = changeset_decode(raw, len, &cs)) < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EDB;
	if (i >= cs->nparts || cs->parts[i].kind != CS_POLICY)
		rc = ARR_EDB;
	else if (cs->parts[i].body == NULL)
		rc = ARR_ENOTFOUND;
	else
		*off = (int64_t)(cs->parts[i].body - cs->raw);
	changeset_destroy(&cs);
	return rc;
}

/*
 * The offset of part i's body in log entry log_id. The entry holds cs->raw unless the
 * apply path logged it without some bodies (store_erase_filter, only once something was
 * erased or redacted here): then the logged bytes are shorter, and are read to find it.
 */
static int
logged_off(struct store *s, const struct changeset *cs, size_t i, int64_t log_id, int64_t *off)
{
	sqlite3_stmt *st = s->st[ST_LOG_LEN_RAW];
	int rc;

	*off = (int64_t)(cs->parts[i].body - cs->raw);
	if (!s->erase->any)
		return 0;
	sqlite3_bind_int64(st, 1, log_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		rc = rc == SQLITE_DONE ? ARR_EDB : store_db_error(rc);
	else if ((size_t)sqlite3_column_int64(st, 0) == cs->rawlen)
		rc = 0; /* only bodies are ever left out: the same length is the same bytes */
	else
		rc = body_off(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), i,
		              off);
	sqlite3_reset(st);
	return rc == ARR_ENOTFOUND ? ARR_EDB : rc; /* a part recorded has its body logged */
}

int
store_policy_record(struct store *s, const struct changeset *cs, size_t i, int64_t sc,
                    int64_t log_id)
{
	const struct cs_part *part = &cs->parts[i];
	sqlite3_stmt *st = s->st[ST_POLICY_INS];
	int64_t off;
	int rc;

	if (part->body == NULL || part->bodylen == 0)
		return ARR_EINVAL; /* a policy part is applied with its body (validate) */
	if ((rc = logged_off(s, cs, i, log_id, &off)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, log_id);
	sqlite3_bind_int64(st, 3, (int64_t)i);
	sqlite3_bind_int(st, 4, part->policy->op);
	sqlite3_bind_text(st, 5, cs->h.author_org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, off);
	sqlite3_bind_int64(st, 7, (int64_t)part->bodylen);
	sqlite3_bind_blob(st, 8, part->body_hash, STORE_POLICY_HLEN, SQLITE_STATIC);
	return store_db_run(st);
}

void
store_policy_reader_close(struct store_policy_reader *r)
{
	sqlite3_blob_close(r->blob);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* The blob of r at log entry log: opened once per reader, moved to each next entry. */
static int
reader_at(struct store *s, struct store_policy_reader *r, int64_t log)
{
	int rc;

	if (r->blob != NULL && r->log == log)
		return 0;
	if (r->blob != NULL)
		rc = sqlite3_blob_reopen(r->blob, log);
	else
		rc = sqlite3_blob_open(s->db, "main", "_log", "raw", log, 0, &r->blob);
	if (rc != SQLITE_OK) {
		/* a failed reopen leaves the handle aborted: the next one opens afresh */
		sqlite3_blob_close(r->blob);
		r->blob = NULL;
		return rc == SQLITE_NOMEM ? ARR_ENOMEM : ARR_EDB;
	}
	r->log = log;
	return 0;
}

int
store_policy_body_read(struct store *s, struct store_policy_reader *r, int64_t log, int64_t off,
                       int64_t len, const void *h, size_t hlen, const uint8_t **body)
{
	uint8_t hash[ARR_HASH_LEN];
	int rc;

	*body = NULL;
	if (len <= 0 || len > ARR_CS_MAX_BYTES || off < 0 || h == NULL || hlen != STORE_POLICY_HLEN)
		goto bad;
	if ((rc = reader_at(s, r, log)) < 0) {
		if (rc == ARR_EDB)
			goto bad;
		return rc;
	}
	if (off > sqlite3_blob_bytes(r->blob) - len)
		goto bad;
	if ((size_t)len > r->cap) {
		uint8_t *q = realloc(r->buf, (size_t)len);

		if (q == NULL)
			return ARR_ENOMEM;
		r->buf = q;
		r->cap = (size_t)len;
	}
	if ((rc = sqlite3_blob_read(r->blob, r->buf, (int)len, (int)off)) != SQLITE_OK)
		return rc == SQLITE_NOMEM ? ARR_ENOMEM : store_db_error(rc);
	crypto_generichash(hash, sizeof(hash), r->buf, (size_t)len, NULL, 0);
	if (sodium_memcmp(hash, h, STORE_POLICY_HLEN) != 0)
		goto bad;
	*body = r->buf;
	return 0;
bad:
	snprintf(s->errbuf, sizeof(s->errbuf),
	         "policy body of log entry %lld not where its record says, or altered",
	         (long long)log);
	return ARR_EDB;
}

/* Point the row of part i of log_id in scope sc at off, or drop it (off < 0). */
static int
repoint_one(struct store *s, int64_t sc, int64_t log_id, size_t i, int64_t off)
{
	sqlite3_stmt *st = NULL;
	const char *sql = off >= 0 ? "UPDATE _policy SET off = ?4 WHERE sc = ?1 AND log = ?2 AND "
	                             "part = ?3"
	                           : "DELETE FROM _policy WHERE sc = ?1 AND log = ?2 AND part = ?3";
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, log_id);
	sqlite3_bind_int64(st, 3, (int64_t)i);
	if (off >= 0)
		sqlite3_bind_int64(st, 4, off);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc;
}

int
store_policy_repoint(struct store *s, int64_t log_id, const uint8_t *raw, size_t len)
{
	struct changeset *cs = NULL;
	int rc;

	if ((rc = changeset_decode(raw, len, &cs)) < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EDB;
	for (size_t i = 0; i < cs->nparts && rc == 0; i++) {
		const struct cs_part *p = &cs->parts[i];
		int64_t sc;

		if (p->kind != CS_POLICY)
			continue;
		if ((rc = store_scope_local(s, p->scope, false, &sc)) < 0) {
			if (rc == ARR_ENOTFOUND)
				rc = 0; /* a scope never seen here has no policy rows */
			continue;
		}
		/*
		 * a body gone is one of a scope erased here, whose policy goes with it
		 * (store_erase_scope.c): its row must not outlive the bytes
		 */
		rc = repoint_one(s, sc, log_id, i, p->body != NULL ? p->body - cs->raw : -1);
	}
	changeset_destroy(&cs);
	return rc;
}
