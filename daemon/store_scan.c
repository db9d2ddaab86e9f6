/*
 * store_scan.c: a domain table read in slices of rowids (store_scan.h): each slice is a
 * range seek on the rowid and at most a given number of rows or milliseconds, so a
 * caller bounds what one call costs whatever the table's size; and the mark (the connection's count
 * of rows changed) that tells a caller whether anything it read may have changed since. It reads
 * only, through statements of its own that live for one call.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"
#include "store_scan.h"

#define SCAN_CLOCK_ROWS 64 /* rows read between two clock reads */

int
store_scan(struct store *s, const char *table, const char *column, int64_t *after, size_t max_rows,
           uint64_t until, uint64_t *visited, store_scan_fn fn, void *ctx)
{
	int ti = table != NULL ? store_db_table_index(table) : -1;
	sqlite3_stmt *st = NULL;
	char *sql;
	size_t n = 0;
	int rc, ret = 0;

	if (ti < 0 || column == NULL || schema_column_find(s->tables[ti].t, column) == NULL)
		return ARR_ESCHEMA;
	if (max_rows == 0)
		return 0; /* nothing read, and not the end */
	if ((sql = sqlite3_mprintf("SELECT _rid, _deleted, id, \"%w\" FROM \"%w\" WHERE _rid > ?1 "
	                           "ORDER BY _rid",
	                           column, table)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, *after);
	rc = SQLITE_ROW;
	while (ret == 0 && n < max_rows && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct value v;

		*after = sqlite3_column_int64(st, 0);
		if (++n % SCAN_CLOCK_ROWS == 0 && until != 0 && mono_ms() >= until)
			max_rows = n; /* this row is the slice's last */
		if (sqlite3_column_int64(st, 1) == 1)
			continue; /* deleted: not visible */
		v = store_db_column_value(st, 3);
		ret = fn(ctx, (const char *)sqlite3_column_text(st, 2), &v);
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_db_error(rc);
	sqlite3_finalize(st);
	*visited += n;
	return ret != 0 ? ret : n == 0 ? 1 : 0;
}

uint64_t
store_scan_mark(struct store *s)
{
	/* the int count (not total_changes64, SQLite 3.37): the package needs 3.35; a
	 * mark that comes back to the same value takes 2^32 changes between two pages */
	return (uint32_t)sqlite3_total_changes(s->db);
}
