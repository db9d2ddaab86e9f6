/*
 * store_upgrade.c: moving a replica from the schema version it was written with to the
 * one this binary knows (PROTOCOL.md, "Schema evolution"; operations.md, "Upgrading"):
 * reading the stored version, refusing a newer one, the backup taken first
 * (data_dir/pre-upgrade-<version>.db), and in one transaction the new tables, the new
 * columns (with every row's clock record widened to match) and the change sets whose ops
 * were kept for this day merged again, then the new version. It must not open or close
 * the store (store_open.c) nor merge cells itself (store_merge.c, store_unknown.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "bigend.h"
#include "store_int.h"

int
store_upgrade_stored(sqlite3 *db, unsigned *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*v = 0;
	if ((rc = sqlite3_prepare_v2(db, "SELECT value FROM _meta WHERE key = 'schema_version'", -1,
	                             &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0 &&
	    sqlite3_column_int64(st, 0) <= UINT32_MAX)
		*v = (unsigned)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW && *v == 0)
		return ARR_EDB;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

int
store_upgrade_check(const char *path, unsigned *v)
{
	sqlite3 *db = NULL;
	int rc;

	*v = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return ARR_ENOTFOUND;
	}
	rc = store_upgrade_stored(db, v);
	sqlite3_close(db);
	/* a database without _meta is a new one */
	return rc == ARR_EDB && *v == 0 ? ARR_ENOTFOUND : rc;
}

void
store_upgrade_describe(unsigned from, void (*line)(void *ctx, const char *text), void *ctx)
{
	char buf[160];

	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		size_t had = schema_table_columns_at(t, from);

		if (had == 0) {
			snprintf(buf, sizeof(buf), "add table %s", t->name);
			line(ctx, buf);
			continue;
		}
		for (size_t c = had - 1; c + 1 < t->ncolumns; c++) {
			snprintf(buf, sizeof(buf), "add column %s.%s", t->name, t->columns[c].name);
			line(ctx, buf);
		}
		for (size_t c = 0; c + 1 < had; c++)
			if (t->columns[c].changed > from) {
				snprintf(buf, sizeof(buf), "new values of %s.%s", t->name,
				         t->columns[c].name);
				line(ctx, buf);
			}
	}
}

/*
 * Widen the clock records of table t from had columns to all of its columns: _deleted
 * (the last) moves from bit had-1 to bit ncolumns-1 of the masks; the new columns have
 * no clock. The groups stay in the order of their lowest column, since no other group
 * reaches past had-1.
 */
static int
clocks_widen(struct store *s, const struct schema_table *t, size_t had)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	uint64_t from = UINT64_C(1) << (had - 1), to = UINT64_C(1) << (t->ncolumns - 1);
	uint8_t *rec = NULL;
	char *sql = NULL;
	int rc, ret = ARR_ENOMEM;

	if ((sql = sqlite3_mprintf("SELECT _rid, _clk FROM \"%w\"", t->name)) == NULL)
		goto out;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &sel, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK ||
	    (sql = sqlite3_mprintf("UPDATE \"%w\" SET _clk = ?2 WHERE _rid = ?1", t->name)) == NULL)
		goto fail;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &upd, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(sel, 1);

		if (len % CLOCK_GROUP_LEN != 0 || (rec = realloc(rec, len + 1)) == NULL) {
			ret = len % CLOCK_GROUP_LEN != 0 ? ARR_EDB : ARR_ENOMEM;
			goto out;
		}
		if (len > 0)
			memcpy(rec, sqlite3_column_blob(sel, 1), len);
		for (size_t g = 0; g < len; g += CLOCK_GROUP_LEN) {
			uint64_t mask = be_get(rec + g + CLOCK_LEN, 8);

			if (mask & from)
				be_put(rec + g + CLOCK_LEN, (mask & ~from) | to, 8);
		}
		sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_blob(upd, 2, rec, (int)len, SQLITE_STATIC);
		if ((ret = store_db_run(upd)) < 0)
			goto out;
	}
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
fail:
	ret = store_db_error(rc);
out:
	free(rec);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return ret;
}

/* Add the columns of t that version from lacked, then widen its clock records. */
static int
columns_add(struct store *s, const struct schema_table *t, size_t had)
{
	for (size_t c = had - 1; c + 1 < t->ncolumns; c++) {
		char *sql = sqlite3_mprintf("ALTER TABLE \"%w\" ADD COLUMN \"%w\"", t->name,
		                            t->columns[c].name);
		int rc;

		if (sql == NULL)
			return ARR_ENOMEM;
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return store_db_error(rc);
	}
	return had < t->ncolumns ? clocks_widen(s, t, had) : 0;
}

int
store_upgrade_begin(struct store *s, const char *dbpath, unsigned from)
{
	const char *slash = strrchr(dbpath, '/');
	char *bak;
	int rc;

	/* the backup first, outside the transaction: the copy of the old database */
	if ((bak = sqlite3_mprintf("%.*spre-upgrade-%u.db",
	                           slash != NULL ? (int)(slash - dbpath + 1) : 0, dbpath, from)) ==
	    NULL)
		return ARR_ENOMEM;
	rc = store_backup(s, bak);
	sqlite3_free(bak);
	if (rc < 0)
		return rc;
	if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		size_t had = schema_table_columns_at(t, from);

		/* a new table is created with the others (store_open.c), in this transaction */
		if (had > 0 && (rc = columns_add(s, t, had)) < 0)
			goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
store_upgrade_finish(struct store *s, unsigned from, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_unknown_replay(s, from, n)) < 0)
		goto fail;
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "UPDATE _meta SET value = ?1 WHERE key = 'schema_version'", -1,
	                             &st, NULL)) != SQLITE_OK) {
		rc = store_db_error(rc);
		goto fail;
	}
	sqlite3_bind_int(st, 1, ARR_SCHEMA_VERSION);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	if (rc < 0)
		goto fail;
#ifdef ARR_TEST_SCHEMA_NEXT
	/* the test seam of the upgrade tests: die inside the migration transaction */
	if (getenv("ARRANGD_TEST_UPGRADE_KILL") != NULL)
		raise(SIGKILL);
#endif
	if ((rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		rc = store_db_error(rc);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
