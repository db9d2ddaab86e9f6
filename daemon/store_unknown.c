/*
 * store_unknown.c: ops of a newer schema that this node cannot apply yet (PROTOCOL.md,
 * "Schema evolution"): telling them from known ops and from bad ones, keeping track of
 * the logged change sets that hold them (_unknown, bounded by count and bytes), and
 * merging those change sets again when the node starts with a schema that knows them.
 * The ops themselves stay where they already are, in the signed bytes of the log, so
 * nothing is copied, lost or altered, and a re-merge uses each op's original (hlc,
 * origin, seq) key. It works over a change set's header fields and ops array only; it
 * does not decide whether a change set may be applied (store_apply.c) nor merge cells
 * (store_merge.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* What an old node can do with one op. */
enum op_fit {
	OP_KNOWN, /* apply it */
	OP_ENUM,  /* a newer enum value of a known column: applied as the text it is */
	OP_NEWER, /* a table or column this schema lacks: keep it */
	OP_BAD,   /* a value of the wrong type for a known column */
};

/*
 * How op fits this node's schema. A newer enum value merges into its known cell as
 * text, like any value: the cell then holds what every node holds, the merge order
 * stays that of the region and digests agree; this node shows the value but its
 * local writes cannot set it.
 */
static enum op_fit
op_fit(const struct cs_op *op, const struct schema_table *t, const struct schema_column *c)
{
	if (t == NULL || c == NULL)
		return OP_NEWER;
	/* changeset_decode() checked the text of every value */
	if (schema_value_fits(c, &op->value))
		return OP_KNOWN;
	if (c->type == SCHEMA_ENUM && op->value.kind == VALUE_TEXT)
		return OP_ENUM;
	return OP_BAD;
}

/*
 * The ops' fit, looking a table up once per run of ops on it (a decoded part interns a
 * name equal to the previous op's, so a run shares one pointer) and a column first after
 * the previous one (ops name a row's columns in schema order): every op of a catch-up
 * comes here, and the two linear look-ups per op cost as much as the checks.
 */
int
store_unknown_check(uint32_t schema_version, const struct cs_op *ops, size_t nops, char *detail,
                    size_t dlen)
{
	const struct schema_table *t = NULL;
	const char *tname = NULL;
	int ci = -1;

	for (size_t i = 0; i < nops; i++) {
		const struct schema_column *c = NULL;
		enum op_fit f;

		if (ops[i].table != tname) {
			tname = ops[i].table;
			t = schema_table_find(tname);
			ci = -1;
		}
		if (t != NULL && ops[i].column != NULL) {
			c = schema_column_findn(t, ops[i].column, strlen(ops[i].column), ci);
			ci = c != NULL ? (int)(c - t->columns) : -1;
		}
		f = op_fit(&ops[i], t, c);
		/* only a newer schema may name what this one lacks; never a retype */
		if (f == OP_BAD || (f != OP_KNOWN && schema_version <= ARR_SCHEMA_VERSION)) {
			snprintf(detail, dlen,
			         f == OP_BAD ? "value does not fit its column in op %zu"
			                     : "unknown table, column or enum value in op %zu",
			         i);
			return ARR_ESCHEMA;
		}
	}
	return 0;
}

/*
 * Whether op names a table or column this schema lacks. The merge asks it of every op,
 * so it only looks the names up: the values were checked before (store_unknown_check),
 * and checking them again cost a tenth of a catch-up's CPU time.
 */
static bool
op_newer(const struct cs_op *op)
{
	const struct schema_table *t = schema_table_find(op->table);

	return t == NULL || schema_column_find(t, op->column) == NULL;
}

/* The bytes an op stands for in the budget: its names and value. */
static size_t
op_bytes(const struct cs_op *op)
{
	size_t n = strlen(op->table) + strlen(op->column) + ARR_ROWID_LEN;

	if (op->value.kind == VALUE_TEXT || op->value.kind == VALUE_BLOB)
		n += op->value.u.b.len;
	else
		n += 8;
	return n;
}

/* Add v to the counter key of _meta (in the caller's transaction). */
static int
meta_add(struct store *s, const char *key, int64_t v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc =
	         sqlite3_prepare_v2(s->db,
	                            "INSERT INTO _meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) "
	                            "DO UPDATE SET value = value + excluded.value",
	                            -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc;
}

int
store_unknown_stats(struct store *s, struct store_unknown_stats *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	/* one statement: status and metrics ask for it on the loop's thread */
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "SELECT key, value FROM _meta WHERE key IN ('unknown_n', "
	                             "'unknown_bytes', 'unknown_overflow')",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		int64_t v = sqlite3_column_int64(st, 1);
		uint64_t u = v > 0 ? (uint64_t)v : 0;

		if (k == NULL)
			continue;
		if (strcmp(k, "unknown_n") == 0)
			out->changesets = u;
		else if (strcmp(k, "unknown_bytes") == 0)
			out->bytes = u;
		else
			out->overflow = u;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/*
 * Note that log entry log_id holds n ops of bytes bytes this schema cannot apply. Past
 * the bounds it is counted as an overflow instead: its ops are still in the log, and
 * an upgrade after an overflow merges every newer change set of the log again.
 */
static int
keep(struct store *s, int64_t log_id, int64_t sc, size_t n, size_t bytes)
{
	struct store_unknown_stats u;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_unknown_stats(s, &u)) < 0)
		return rc;
	if (u.changesets >= s->unknown_max_count || u.bytes + bytes > s->unknown_max_bytes)
		return meta_add(s, "unknown_overflow", 1);
	if ((rc =
	         sqlite3_prepare_v2(s->db,
	                            "INSERT INTO _unknown(log, sc, n, bytes) VALUES(?1, ?2, ?3, ?4)"
	                            " ON CONFLICT(log) DO NOTHING",
	                            -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, log_id);
	sqlite3_bind_int64(st, 2, sc);
	sqlite3_bind_int64(st, 3, (int64_t)n);
	sqlite3_bind_int64(st, 4, (int64_t)bytes);
	rc = store_db_run(st);
	if (rc == 0 && sqlite3_changes(s->db) == 1 && (rc = meta_add(s, "unknown_n", 1)) == 0)
		rc = meta_add(s, "unknown_bytes", (int64_t)bytes);
	sqlite3_finalize(st);
	return rc;
}

void
store_set_unknown_bounds(struct store *s, uint64_t changesets, uint64_t bytes)
{
	s->unknown_max_count = changesets != 0 ? changesets : STORE_UNKNOWN_MAX_COUNT;
	s->unknown_max_bytes = bytes != 0 ? bytes : STORE_UNKNOWN_MAX_BYTES;
}

int
store_unknown_split(struct store *s, const struct cs_op *ops, size_t nops, int64_t log_id,
                    int64_t sc, struct cs_op **known, size_t *nknown)
{
	size_t n = 0, bytes = 0, k = 0;
	int rc;

	*known = NULL;
	*nknown = nops;
	for (size_t i = 0; i < nops; i++)
		if (op_newer(&ops[i])) {
			n++;
			bytes += op_bytes(&ops[i]);
		}
	if (n == 0)
		return 0;
	if (n < nops && (*known = calloc(nops - n, sizeof(**known))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nops; i++)
		if (!op_newer(&ops[i]))
			(*known)[k++] = ops[i];
	*nknown = k;
	if ((rc = keep(s, log_id, sc, n, bytes)) < 0) {
		free(*known);
		*known = NULL;
	}
	return rc;
}

/*
 * Merge log entry log_id of local origin oid again, if it is a data change set newer
 * than version from that this node can read and merged (not sealed, masked or frozen). Ops this
 * schema still lacks are kept anew by the merge (store_unknown_split); known ops merge with their
 * original keys, and an op that was applied the first time merges to the same cell again, which
 * changes nothing: a cell's key only moves up.
 */
static int
remerge(struct store *s, int64_t log_id, int64_t oid, const uint8_t *raw, size_t len, unsigned from)
{
	struct changeset *cs = NULL;
	char detail[96];
	uint64_t frozen;
	int64_t sc;
	int rc;

	if ((rc = changeset_decode(raw, len, &cs)) < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EDB; /* logged bytes always decode */
	if (cs->h.schema_version <= from) {
		rc = 0;
		goto out;
	}
	/* what was never merged stays so: an origin frozen by a proof (store_equiv.c) */
	if ((rc = store_equiv_from(s, cs->origin, &frozen)) < 0 ||
	    (frozen != 0 && cs->h.seq >= frozen))
		goto out;
	/* a case body without its key is sealed: it merges whole when the key comes */
	if ((rc = store_scope_open(s, cs)) < 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < cs->nparts && rc == 0; i++) {
		const struct cs_part *p = &cs->parts[i];

		/* ... and ops outside the part's scope are masked (store_scope.c) */
		if (p->kind != CS_DATA || p->ops == NULL ||
		    store_scope_ops_valid(p, cs->h.schema_version, detail, sizeof(detail)) < 0)
			continue;
		if ((rc = store_scope_local(s, p->scope, false, &sc)) == 0)
			rc = store_merge_part(s, cs, p->ops, p->nops, oid, log_id, sc);
	}
out:
	changeset_destroy(&cs);
	return rc;
}

int
store_unknown_replay(struct store *s, unsigned from, size_t *n)
{
	struct store_unknown_stats u;
	sqlite3_stmt *st = NULL;
	const char *sql;
	int rc;

	*n = 0;
	if ((rc = store_unknown_stats(s, &u)) < 0)
		return rc;
#ifdef ARR_TEST_SCHEMA_NEXT
	/* the test seam of the upgrade tests: replay as after an overflow */
	if (getenv("ARRANGD_TEST_UPGRADE_FULL_LOG") != NULL)
		u.overflow = 1;
#endif
	if ((rc = sqlite3_exec(s->db,
	                       "CREATE TEMP TABLE _replay AS SELECT log FROM _unknown;"
	                       "DELETE FROM _unknown; DELETE FROM _meta WHERE key IN "
	                       "('unknown_n', 'unknown_bytes', 'unknown_overflow')",
	                       NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	/* after an overflow, every change set of the log is a candidate */
	sql = u.overflow > 0 ? "SELECT id, origin, raw FROM _log ORDER BY id"
	                     : "SELECT l.id, l.origin, l.raw FROM _replay u JOIN _log l"
	                       " ON l.id = u.log ORDER BY l.id";
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		rc = store_db_error(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int ret =
		    remerge(s, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		            sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), from);

		if (ret < 0) {
			rc = ret;
			goto out;
		}
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	if (sqlite3_exec(s->db, "DROP TABLE IF EXISTS temp._replay", NULL, NULL, NULL) !=
	        SQLITE_OK &&
	    rc == 0)
		rc = ARR_EDB;
	return rc;
}
