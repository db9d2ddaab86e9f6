/*
 * store_backup.c: the online backup of the replica (SQLite backup API) into a new
 * database marked as restored, whole (store_backup) or started and then polled
 * (store_backup_begin, _poll, _abort) so that the loop turns meanwhile. The copy is made
 * by a thread of its own, from a read-only connection of its own holding one read
 * transaction (a WAL snapshot) for the whole copy: the copy is the replica as it was
 * when the backup began, whole transactions only; writes made meanwhile are neither in
 * it nor held up by it (a WAL reader never blocks the writer). Why a thread: every part
 * of a copy made on the loop waits for the disk at times: the reads of the replica's
 * pages, the writes of the copy's (the kernel throttles a writer that dirties pages
 * faster than they are written back), starting their writeback and the final sync;
 * in 4 ms steps on the loop the worst of them stalled it 16-38 ms (bench/README.md).
 * While the snapshot is held the WAL cannot be checkpointed past it and grows with
 * the writes made meanwhile; when the loop's writes have taken it past half its hard
 * limit (where the loop checkpoints itself and would wait for this reader) during a
 * copy, the copy lets its snapshot go and starts again, BACKUP_TRIES times at most,
 * then fails with ARR_EBUSY. The copy is
 * written without a journal or syncs of its own (a copy cut short is removed, never
 * used); the thread starts the kernel's writeback as it goes and syncs the file at the
 * end, dropping the copy's pages from the page cache as they reach the disk. It writes
 * nothing but the copy. A test hook (store_backup_test_step) lets a test hold the thread
 * between steps and see which copy it is in; the daemon never sets it.
 */
#define _GNU_SOURCE /* sync_file_range */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arrerr.h"
#include "store_int.h"

#define BACKUP_STEP_PAGES 64 /* pages copied between two looks at stop and yield */
#define BACKUP_TRIES      3
#define BACKUP_NICE       10 /* the copying thread's nice value */

struct store_backup_job {
	sqlite3 *src, *dst;
	int fd; /* the copy, for its writeback and final sync */
	pthread_t thread;
	bool started;      /* the thread runs (is to be joined) */
	bool held;         /* src's read transaction is begun (by the loop, for the first) */
	atomic_bool stop;  /* the loop: stop copying */
	atomic_bool yield; /* the loop: let the snapshot go and copy again */
	atomic_int copies; /* the thread: copies begun */
	atomic_int state;  /* the thread: 0 copying; 1 done; < 0 failed (ARR_E*) */
	int seen;          /* the loop: copies it has seen begin */
	int wal0;          /* the loop: the WAL's frames when it saw the last one begin */
	void (*step_fn)(void *arg, int copy); /* the test hook when the job began; NULL */
	void *step_arg;
};

/* The test hook (store_backup_test_step), copied into each job it begins: NULL. */
static void (*backup_step_fn)(void *arg, int copy);
static void *backup_step_arg;

void
store_backup_test_step(void (*fn)(void *arg, int copy), void *arg)
{
	backup_step_fn = fn;
	backup_step_arg = arg;
}

void
store_backup_abort(struct store_backup_job **jp)
{
	struct store_backup_job *j;

	if (jp == NULL || (j = *jp) == NULL)
		return;
	if (j->started) {
		atomic_store(&j->stop, true);
		pthread_join(j->thread, NULL);
	}
	sqlite3_close(j->src);
	sqlite3_close(j->dst);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
	*jp = NULL;
}

/*
 * Write back what the copy holds in the page cache and drop it from there: the thread
 * may wait, and the copy's pages neither fill the page cache (whose reclaim would stall
 * any thread of the machine, the loop's too) nor pile up as dirty pages until the final
 * sync. A failure only leaves the pages to the kernel and the final sync.
 */
static void
backup_writeback(const struct store_backup_job *j)
{
	(void)sync_file_range(j->fd, 0, 0,
	                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
	                          SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(j->fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* Begin the read transaction of src (a snapshot of the replica), by reading. */
static int
backup_snapshot(struct store_backup_job *j)
{
	return sqlite3_exec(j->src, "BEGIN; SELECT count(*) FROM _meta", NULL, NULL, NULL) ==
	               SQLITE_OK
	           ? 0
	           : ARR_EDB;
}

/*
 * One copy of the whole replica in one read transaction of src: 0, 1 when the loop asked
 * it to let the snapshot go (the WAL grew too large meanwhile), ARR_EBUSY when asked to
 * stop.
 */
static int
backup_copy(struct store_backup_job *j)
{
	sqlite3_backup *b;
	int rc, ret = 0, copy = atomic_fetch_add(&j->copies, 1) + 1;

	/* the read transaction spans every step below (the first copy's: begun by the loop) */
	if (!j->held && backup_snapshot(j) != 0)
		return ARR_EDB;
	j->held = false;
	if ((b = sqlite3_backup_init(j->dst, "main", j->src, "main")) == NULL) {
		(void)sqlite3_exec(j->src, "ROLLBACK", NULL, NULL, NULL);
		return store_db_error(sqlite3_errcode(j->dst));
	}
	do {
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
		backup_writeback(j);
		if (j->step_fn != NULL)
			j->step_fn(j->step_arg, copy);
		if (atomic_load(&j->stop))
			ret = ARR_EBUSY;
		else if (rc == SQLITE_OK && atomic_exchange(&j->yield, false))
			ret = 1;
	} while (ret == 0 && rc == SQLITE_OK);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_error(rc);
	rc = sqlite3_backup_finish(b);
	if (ret == 0 && rc != SQLITE_OK)
		ret = store_db_error(rc);
	(void)sqlite3_exec(j->src, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* The thread: the copy (again while the WAL outgrows it), marked restored and synced. */
static void *
backup_main(void *arg)
{
	struct store_backup_job *j = arg;
	int rc = 1;

	/* background work: the loop comes first for the CPU (Linux: a nice value a thread) */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), BACKUP_NICE);

	for (int i = 0; i < BACKUP_TRIES && rc == 1; i++)
		rc = backup_copy(j);
	if (rc == 1)
		rc = ARR_EBUSY;
	/* A restored copy must learn its own newest seq from a peer before writing. */
	if (rc == 0 &&
	    sqlite3_exec(j->dst, "INSERT OR REPLACE INTO _meta(key, value) VALUES('restored', 1)",
	                 NULL, NULL, NULL) != SQLITE_OK)
		rc = store_db_error(sqlite3_errcode(j->dst));
	if (rc == 0 && fdatasync(j->fd) != 0)
		rc = ARR_EIO;
	atomic_store(&j->state, rc == 0 ? 1 : rc);
	return NULL;
}

/* The connections and the file of job j for a copy of s into path. */
static int
backup_open(struct store *s, struct store_backup_job *j, const char *path)
{
	const char *src = sqlite3_db_filename(s->db, "main");

	if (src == NULL || src[0] == '\0')
		return ARR_EINVAL; /* an in-memory replica has no file to read from */
	if (sqlite3_open_v2(src, &j->src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_busy_timeout(j->src, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_open_v2(path, &j->dst,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_exec(j->dst, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    (j->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ARR_EDB;
	return 0;
}

int
store_backup_begin(struct store *s, const char *path, struct store_backup_job **out)
{
	struct store_backup_job *j;
	int ret;

	*out = NULL;
	if (path == NULL)
		return ARR_EINVAL;
	/* what the bulk mode holds open is committed, so that the snapshot has it */
	if ((ret = store_bulk_flush(s)) < 0)
		return ret;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ARR_ENOMEM;
	j->fd = -1;
	atomic_init(&j->stop, false);
	atomic_init(&j->yield, false);
	atomic_init(&j->copies, 0);
	atomic_init(&j->state, 0);
	j->step_fn = backup_step_fn;
	j->step_arg = backup_step_arg;
	if ((ret = backup_open(s, j, path)) < 0) {
		store_backup_abort(&j);
		return ret;
	}
	/* the snapshot is the replica now: taken here, before any later write */
	if ((ret = backup_snapshot(j)) < 0) {
		store_backup_abort(&j);
		return ret;
	}
	j->held = true;
	if (pthread_create(&j->thread, NULL, backup_main, j) != 0) {
		store_backup_abort(&j);
		return ARR_ENOMEM;
	}
	j->started = true;
	*out = j;
	return 0;
}

int
store_backup_poll(struct store *s, struct store_backup_job *j)
{
	int copies = atomic_load(&j->copies);

	if (copies != j->seen) { /* a copy began: the WAL's frames then */
		j->seen = copies;
		j->wal0 = s->wal_pages;
	} else if (s->ckpt_hard > 0 && s->wal_pages > j->wal0 && s->wal_pages >= s->ckpt_hard / 2) {
		atomic_store(&j->yield, true);
		j->wal0 = s->wal_pages; /* asked once for this growth */
	}
	return atomic_load(&j->state);
}

int
store_backup(struct store *s, const char *path)
{
	struct store_backup_job *j = NULL;
	int ret;

	if ((ret = store_backup_begin(s, path, &j)) < 0)
		return ret;
	pthread_join(j->thread, NULL);
	j->started = false;
	ret = atomic_load(&j->state);
	store_backup_abort(&j);
	return ret < 0 ? ret : 0;
}
