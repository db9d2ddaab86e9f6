/*
 * store_ckpt.c: WAL checkpoints. A thread with its own connection checkpoints the main
 * connection's WAL; the WAL hook and the hard limit keep the WAL bounded. It must not
 * touch the domain or replication tables, and shares with the loop only the fields of
 * struct store_ckpt marked "mu".
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"
#include "worker.h"

/*
 * The loop never checkpoints in the normal case: a thread with its own connection does,
 * PASSIVE, when the WAL passes CKPT_SOFT_BYTES (CKPT_SMALL_BYTES when it grew by at
 * least CKPT_SMALL_COMMITS commits) or every CKPT_PERIOD_MS after commits, and truncates
 * the WAL once no commit came for CKPT_IDLE_MS. Past CKPT_HARD_BYTES (the thread fell
 * behind, or kept being overtaken by commits) the loop runs a blocking checkpoint itself,
 * so the WAL stays bounded.
 *
 * Why the smaller limit for many small commits: a checkpoint first fsyncs the WAL, so
 * the frames the commits since the last one wrote without a sync (applies run at
 * synchronous=NORMAL) go to the disk in one burst, and a local write's fsync that meets
 * it waits behind it. One-op change sets at 200/s write 1,600 16 KiB frames a second (8
 * B-tree pages each); with 16 MiB between checkpoints the bursts were 13-16 MiB and ran
 * 5-30 ms, and half of a writer's commits over 4 ms overlapped one of its peers' on the
 * bench's shared disk (bench/README.md, "The write ack"). 4 MiB keeps a burst to a few
 * ms. A few large commits (an import's requests, a catch-up's bulk commits) keep the
 * 16 MiB: their frames are copied once per checkpoint, and fewer checkpoints write
 * fewer pages (bench/README.md, F1).
 */
#define CKPT_SOFT_BYTES    (16u << 20)
#define CKPT_SMALL_BYTES   (4u << 20)
#define CKPT_SMALL_COMMITS 16
#define CKPT_HARD_BYTES    (64u << 20)
#define CKPT_PERIOD_MS     500
#define CKPT_IDLE_MS       2000
#define CKPT_BUSY_MS       50

/*
 * The checkpoint thread. It shares with the loop only this struct's fields marked
 * "mu", always under mu. db is opened by store_open before the thread starts, used
 * only by the thread, and closed by store_destroy after the join.
 */
struct store_ckpt {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t over; /* the thread's checkpoint ended (running went false) */
	pthread_t thread;
	sqlite3 *db;
	int soft;         /* CKPT_SOFT_BYTES in pages; constant while the thread runs */
	int small;        /* CKPT_SMALL_BYTES in pages; likewise */
	int wal_pages;    /* mu: WAL frames after the loop's last commit */
	uint64_t commits; /* mu: commits so far */
	uint64_t since;   /* mu: commits when the last checkpoint began */
	bool stop;        /* mu: store_destroy wants the thread to end */
	bool running;     /* mu: the thread is inside a checkpoint */
	bool held;        /* mu: the loop checkpoints at the hard limit: start none */
	uint64_t done;    /* mu: the thread's PASSIVE checkpoints */
	int max_frames;   /* mu: the most frames one of them copied */
	int next_frames;  /* mu: the most frames one of the others copied */
};

/*
 * Why a thread: a checkpoint copies the WAL into the database file and fsyncs both,
 * 4-20 ms on a busy disk. Run by SQLite's auto-checkpoint it happened inside a commit,
 * so the daemon's single loop (API, pushes, applies) stalled behind it every few
 * hundred change sets (bench/README.md, F3). SQLite allows a checkpoint on another
 * connection while the writer commits; PASSIVE mode never waits for the writer or
 * readers and never blocks them.
 */

static void
deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * While the loop checkpoints itself at the hard limit (store_ckpt_wal_limit), start
 * none: wait (under mu) until it is done. It does so at its next commit; if none comes
 * for CKPT_PERIOD_MS, the checkpoints are the thread's again.
 */
static void
held_wait(struct store_ckpt *c)
{
	uint64_t seen = c->commits;
	struct timespec ts;

	deadline_in(&ts, CKPT_PERIOD_MS);
	while (!c->stop && c->held) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
			continue;
		if (c->commits == seen) {
			c->held = false;
		} else {
			seen = c->commits;
			deadline_in(&ts, CKPT_PERIOD_MS);
		}
	}
}

/* Whether the WAL is past its limit (under mu): ckpt_main waits for this. */
static bool
ckpt_due(const struct store_ckpt *c)
{
	return c->wal_pages >= c->soft ||
	       (c->wal_pages >= c->small && c->commits - c->since >= CKPT_SMALL_COMMITS);
}

/*
 * One PASSIVE checkpoint, and what it copied: the frames checkpointed now less those of
 * the checkpoint before (*prev), unless the WAL restarted in between.
 */
static void
passive(struct store_ckpt *c, int *prev)
{
	int log = 0, ckpt = 0, copied;

	if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt) !=
	        SQLITE_OK ||
	    ckpt < 0)
		return;
	copied = ckpt >= *prev ? ckpt - *prev : ckpt;
	*prev = ckpt;
	pthread_mutex_lock(&c->mu);
	c->done++;
	if (copied > c->max_frames) {
		c->next_frames = c->max_frames;
		c->max_frames = copied;
	} else if (copied > c->next_frames) {
		c->next_frames = copied;
	}
	pthread_mutex_unlock(&c->mu);
}

/*
 * The thread: wait for a signal (WAL past its limit, ckpt_due) or CKPT_PERIOD_MS, then
 * checkpoint PASSIVE if commits came since the last one; after CKPT_IDLE_MS without a
 * commit, TRUNCATE once so an idle node leaves no WAL behind. Errors (SQLITE_BUSY when
 * the loop runs its own checkpoint, I/O errors) only mean "try again next time": the
 * loop's hard limit keeps the WAL bounded whatever happens here.
 */
static void *
ckpt_main(void *arg)
{
	struct store_ckpt *c = arg;
	uint64_t done = 0, idle_since = mono_ms();
	bool truncated = true;
	int prev = 0;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct timespec ts;
		uint64_t commits;
		int pages;

		deadline_in(&ts, CKPT_PERIOD_MS);
		while (!c->stop && !ckpt_due(c)) {
			if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
				break; /* timed out */
		}
		held_wait(c);
		if (c->stop)
			break;
		commits = c->commits;
		pages = c->wal_pages;
		c->wal_pages = 0;
		c->since = commits;
		c->running = true;
		pthread_mutex_unlock(&c->mu);

		if (commits != done) {
			done = commits;
			idle_since = mono_ms();
			truncated = false;
			if (pages > 0)
				passive(c, &prev);
		} else if (!truncated && mono_ms() - idle_since >= CKPT_IDLE_MS) {
			/* takes the write lock briefly; the loop waits at most that long */
			truncated =
			    sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
			                              NULL) == SQLITE_OK;
		}
		pthread_mutex_lock(&c->mu);
		c->running = false;
		pthread_cond_broadcast(&c->over);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * WAL hook of the main connection, called after every commit with the WAL's size in
 * frames. Replaces SQLite's auto-checkpoint: it only records the size and wakes the
 * thread; store_db_commit() enforces the hard limit outside the hook.
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;
	struct store_ckpt *c = s->ckpt;

	(void)db;
	(void)name;
	s->wal_pages = pages;
	if (c != NULL) {
		pthread_mutex_lock(&c->mu);
		c->wal_pages = pages;
		c->commits++;
		if (ckpt_due(c))
			pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/*
 * The WAL passed the hard limit: checkpoint here, blocking, so it cannot grow without
 * bound. RESTART waits (busy timeout) for readers, and the next commit writes the WAL
 * from its start again. It cannot run while the thread checkpoints (SQLite answers
 * SQLITE_BUSY at once to a second checkpointer), and under a flood of commits the thread
 * nearly always does, never catching up (a PASSIVE checkpoint never restarts the WAL):
 * the WAL grew to 259 MiB in test_store_ckpt (now 64-71 MiB). So the loop holds the thread off (it
 * starts no new checkpoint), and runs its own at the first commit that finds the thread's current
 * one over: the loop need not wait for the thread, and the WAL grows meanwhile by the commits of
 * one checkpoint at most; when that is a quarter of the limit more (a checkpoint slowed by a busy
 * disk, test_store_ckpt reached 98 MiB), the loop waits for the thread's checkpoint to end, so the
 * WAL never passes the limit and a quarter by more than one transaction.
 */
void
store_ckpt_wal_limit(struct store *s)
{
	struct store_ckpt *c = s->ckpt;

	if (s->wal_pages < s->ckpt_hard)
		return;
	if (c != NULL) {
		bool running;

		pthread_mutex_lock(&c->mu);
		c->held = true;
		/* far past the limit: wait for the thread's checkpoint rather than grow on */
		while (c->running && s->wal_pages >= s->ckpt_hard + s->ckpt_hard / 4)
			pthread_cond_wait(&c->over, &c->mu);
		running = c->running;
		pthread_mutex_unlock(&c->mu);
		if (running)
			return; /* the next commit tries again */
	}
	(void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	s->wal_pages = 0;
	if (c != NULL) {
		pthread_mutex_lock(&c->mu);
		c->held = false;
		c->wal_pages = 0;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
}

/* Read one integer pragma of a connection; -1 on error. */
static int64_t
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Take checkpoints off the loop: auto-checkpoint off, the WAL hook installed, and the
 * thread started on its own connection. Without thread support in SQLite (or when
 * the thread cannot start) SQLite's auto-checkpoint stays on, as before.
 */
int
store_ckpt_start(struct store *s, const char *path)
{
	struct store_ckpt *c = NULL;
	pthread_condattr_t ca;
	int64_t psize = pragma_int(s->db, "PRAGMA page_size");
	bool mu = false, cv = false;
	int ret = ARR_EDB;

	if (psize <= 0)
		return ARR_EDB;
	s->ckpt_hard = (int)(CKPT_HARD_BYTES / (uint64_t)psize);
	if (!sqlite3_threadsafe())
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ARR_ENOMEM;
	c->soft = (int)(CKPT_SOFT_BYTES / (uint64_t)psize);
	c->small = (int)(CKPT_SMALL_BYTES / (uint64_t)psize);
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		goto out;
	mu = true;
	if (pthread_condattr_init(&ca) != 0)
		goto out;
	cv = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	     pthread_cond_init(&c->cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (cv && pthread_cond_init(&c->over, NULL) != 0) {
		pthread_cond_destroy(&c->cv);
		cv = false;
	}
	if (!cv)
		goto out;

	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-256", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    pragma_int(c->db, "PRAGMA schema_version") < 0)
		goto out;
	sqlite3_busy_timeout(c->db, CKPT_BUSY_MS);
	if (sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	sqlite3_wal_hook(s->db, wal_hook, s);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		sqlite3_wal_hook(s->db, NULL, NULL);
		(void)sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=1000", NULL, NULL, NULL);
		goto out;
	}
	s->ckpt = c;
	c = NULL;
	ret = 0;
out:
	if (c != NULL) {
		sqlite3_close(c->db);
		if (cv) {
			pthread_cond_destroy(&c->cv);
			pthread_cond_destroy(&c->over);
		}
		if (mu)
			pthread_mutex_destroy(&c->mu);
		free(c);
	}
	return ret;
}

void
store_ckpt_stats(const struct store *s, uint64_t *checkpoints, int most[2])
{
	struct store_ckpt *c = s->ckpt;

	*checkpoints = 0;
	most[0] = most[1] = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*checkpoints = c->done;
	most[0] = c->max_frames;
	most[1] = c->next_frames;
	pthread_mutex_unlock(&c->mu);
}

/* Stop and join the thread; the caller then checkpoints fully. */
void
store_ckpt_stop(struct store *s)
{
	struct store_ckpt *c = s->ckpt;

	if (c == NULL)
		return;
	worker_stop(c->thread, &c->mu, &c->cv, &c->stop);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->over);
	pthread_mutex_destroy(&c->mu);
	free(c);
	s->ckpt = NULL;
	sqlite3_wal_hook(s->db, NULL, NULL);
}
