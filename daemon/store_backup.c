/*
 * store_backup.c: the online backup of the replica (SQLite backup API) into a new
 * database marked as restored, whole (store_backup) or in steps of a few milliseconds
 * (store_backup_begin, _step, _abort), so that the loop can turn between them: writes
 * made meanwhile through the same connection reach the copy too (SQLite updates a
 * running backup), and each step first commits what is open, so that the copy never
 * holds half a transaction. The copy is written without a journal or syncs of its own
 * (a copy cut short is removed, never used); each step starts the kernel's writeback of
 * what it wrote, and the last one syncs the file, so that no step waits for the whole
 * file to reach the disk. It writes nothing but the copy.
 */
#define _GNU_SOURCE /* sync_file_range */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"

#define BACKUP_STEP_PAGES 16 /* 256 KiB at 16 KiB pages, between two clock reads */

struct store_backup_job {
	sqlite3 *dst;
	sqlite3_backup *b;
	int fd; /* the copy, for its writeback and final sync */
};

void
store_backup_abort(struct store_backup_job **jp)
{
	struct store_backup_job *j;

	if (jp == NULL || (j = *jp) == NULL)
		return;
	if (j->b != NULL)
		sqlite3_backup_finish(j->b);
	sqlite3_close(j->dst);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
	*jp = NULL;
}

int
store_backup_begin(struct store *s, const char *path, struct store_backup_job **out)
{
	struct store_backup_job *j;
	int ret;

	*out = NULL;
	if (path == NULL)
		return ARR_EINVAL;
	if ((ret = store_bulk_flush(s)) < 0)
		return ret;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ARR_ENOMEM;
	j->fd = -1;
	if (sqlite3_open_v2(path, &j->dst,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_exec(j->dst, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    (j->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (j->b = sqlite3_backup_init(j->dst, "main", s->db, "main")) == NULL) {
		store_backup_abort(&j);
		return ARR_EDB;
	}
	*out = j;
	return 0;
}

/* The copy is complete: close it, marked as restored. */
static int
backup_finish(struct store_backup_job *j)
{
	int rc = sqlite3_backup_finish(j->b);

	j->b = NULL;
	if (rc != SQLITE_OK)
		return store_db_error(rc);
	/* A restored copy must learn its own newest seq from a peer before writing. */
	if ((rc = sqlite3_exec(j->dst,
	                       "INSERT OR REPLACE INTO _meta(key, value) VALUES('restored', 1)",
	                       NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	return fdatasync(j->fd) == 0 ? 0 : ARR_EIO;
}

int
store_backup_step(struct store *s, struct store_backup_job *j, unsigned budget_ms)
{
	uint64_t t0 = mono_ms();
	int rc, ret;

	if ((ret = store_bulk_flush(s)) < 0)
		return ret;
	do {
		rc = sqlite3_backup_step(j->b, BACKUP_STEP_PAGES);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			return 0; /* the next step tries again */
	} while (rc == SQLITE_OK && mono_ms() - t0 < budget_ms);
	/* start writing back what this step copied; a failure only delays it to the sync */
	(void)sync_file_range(j->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (rc == SQLITE_OK)
		return 0;
	if (rc != SQLITE_DONE)
		return store_db_error(rc);
	return (ret = backup_finish(j)) < 0 ? ret : 1;
}

int
store_backup(struct store *s, const char *path)
{
	struct store_backup_job *j = NULL;
	int ret;

	if ((ret = store_backup_begin(s, path, &j)) < 0)
		return ret;
	while ((ret = store_backup_step(s, j, 100)) == 0)
		;
	store_backup_abort(&j);
	return ret < 0 ? ret : 0;
}
