/*
 * store_bulk.c: bulk mode (store.h, store_bulk_begin) and the large page cache of bulk
 * applies and large writes, given back by store_trim(). It opens no transaction: it only
 * commits the open bulk one.
 *
 * While a bulk apply or a large local write runs, the cache grows, so that a B-tree page
 * dirtied by many rows is written to the WAL once per commit instead of being spilled
 * and rewritten, and the random-id indexes (about 6 % of a replica) need not be read
 * back from the file for every row; it is given back when the work ends (store_trim).
 * Its size follows the replica: an eighth of the database, from 128 to 512 MiB. At 1M
 * arrangements (3.2 GiB) 512 MiB instead of 128 halved the catch-up time; at 100k
 * (320 MiB) it made writes 20 % slower, the kernel's time to hand out fresh memory.
 */
#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"

#define LARGE_CACHE_MIN_KIB 131072
#define LARGE_CACHE_MAX_KIB 524288
#define TRIM_MS             2000 /* store_trim(): idle time before the large cache goes */

/*
 * Commit the open bulk transaction, if any (store.h, store_bulk_begin), and the held one
 * (store_hold.c) unless the write about to run joins it.
 */
int
store_bulk_flush(struct store *s)
{
	int rc;

	/* a change set parked half-merged is finished first: never committed in part */
	store_apply_settle(s);
	if (!s->hold.join && (rc = store_hold_commit(s)) < 0)
		return rc;
	if (!s->bulk_tx)
		return 0;
	s->bulk_tx = false;
	return store_db_commit(s);
}

/*
 * The large page cache of bulk applies and large writes: taken when such work starts,
 * kept while it keeps coming (a catch-up or an import is many calls, and each would
 * otherwise read its working set again), given back by store_trim() once the store has
 * had no such work for TRIM_MS.
 */
int
store_bulk_cache_grow(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t kib = LARGE_CACHE_MIN_KIB;

	/* page_count * page_size / 8, in KiB */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT page_count * page_size / 8192 FROM pragma_page_count(), "
	                       "pragma_page_size()",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		kib = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	kib = kib < LARGE_CACHE_MIN_KIB   ? LARGE_CACHE_MIN_KIB
	      : kib > LARGE_CACHE_MAX_KIB ? LARGE_CACHE_MAX_KIB
	                                  : kib;
	if (kib != s->cache_kib && store_db_cache_set(s, (int)kib) < 0)
		return ARR_EDB;
	s->large_at = mono_ms();
	return 0;
}

void
store_trim(struct store *s)
{
	if (s->large_at == 0 || s->bulk || mono_ms() - s->large_at < TRIM_MS)
		return;
	s->large_at = 0;
	(void)store_db_cache_set(s, CACHE_KIB);
	sqlite3_db_release_memory(s->db);
}

int
store_bulk_begin(struct store *s)
{
	if (store_bulk_cache_grow(s) < 0)
		return ARR_EDB;
	s->bulk = true;
	return 0;
}

int
store_bulk_end(struct store *s)
{
	int rc = store_bulk_flush(s);

	s->bulk = false;
	s->large_at = mono_ms(); /* store_trim() gives the cache back later */
	return rc;
}
