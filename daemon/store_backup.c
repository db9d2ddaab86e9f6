/*
 * store_backup.c: the online backup of the replica (SQLite backup API) into a new
 * database marked as restored. It writes nothing but the copy.
 */
#include "arrerr.h"
#include "store_int.h"

#define BACKUP_STEP_PAGES 256

int
store_backup(struct store *s, const char *path)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	int rc, ret = ARR_EDB;

	if (path == NULL)
		return ARR_EINVAL;
	if ((ret = store_bulk_flush(s)) < 0)
		return ret;
	ret = ARR_EDB;
	if (sqlite3_open_v2(path, &dst,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto out;
	if ((b = sqlite3_backup_init(dst, "main", s->db, "main")) == NULL)
		goto out;
	do {
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(10);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		ret = store_db_error(rc);
		goto out;
	}
	/* A restored copy must learn its own newest seq from a peer before writing. */
	if ((rc =
	         sqlite3_exec(dst, "INSERT OR REPLACE INTO _meta(key, value) VALUES('restored', 1)",
	                      NULL, NULL, NULL)) != SQLITE_OK) {
		ret = store_db_error(rc);
		goto out;
	}
	ret = 0;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	return ret;
}
