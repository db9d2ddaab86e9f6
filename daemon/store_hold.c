/*
 * store_hold.c: the held write transaction (store.h, store_hold_join): consecutive local
 * writes of one client staged in one transaction, each inside its own savepoint, and
 * committed together (synchronous=FULL) like a catch-up's bulk transaction. It owns the
 * transaction's begin, savepoints and commit for local writes; what a write does inside
 * them is store_write.c's. It must not decide when a hold ends: the API does, and any
 * other transaction of the store commits it first (store_db_begin, store_bulk_flush).
 *
 * Why: every commit rewrites nearly every page of the random-id indexes (UNIQUE(id, _sc)
 * of each domain table, _scope.scope), 30 MB at 100k arrangements; fewer commits of
 * more rows write each such page once per commit instead of once per request
 * (bench/README.md, "Held writes").
 *
 * A savepoint rolled back takes the rows back but tells no hook, so what the store
 * mirrors in memory is brought back in line here: the vector and origins are read
 * again, the verdict and scope caches forgotten, and the content digest's state, written
 * to _digest before each savepoint, is read again by opening the digest anew.
 */
#include <string.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"

void
store_hold_hook(struct store *s, store_hold_fn fn, void *ctx)
{
	s->hold.fn = fn;
	s->hold.ctx = ctx;
}

void
store_hold_join(struct store *s, bool join)
{
	s->hold.join = join;
}

bool
store_hold_open(const struct store *s)
{
	return s->hold.open;
}

void
store_hold_info(const struct store *s, struct store_hold_info *out)
{
	*out = (struct store_hold_info){0};
	if (!s->hold.open)
		return;
	out->since_ms = s->hold.t0;
	out->bytes = s->hold.bytes;
	out->writes = s->hold.writes;
	out->first_seq = s->hold.first_seq;
	out->last_seq = s->hold.last_seq;
}

uint64_t
store_hold_durable(const struct store *s)
{
	return s->hold.open ? s->hold.first_seq - 1 : vv_get(s->vec, s->self);
}

/* The bytes of own change sets in the log (_log_use, kept by a trigger). */
static uint64_t
own_log_bytes(struct store *s)
{
	int64_t b = 0;

	(void)store_db_row_ints(s->st[ST_LOG_USE], s->self_oid, 1, &b);
	return b > 0 ? (uint64_t)b : 0;
}

/* Tell the hook of the end of the hold: committed (first..last) or lost. */
static void
hold_told(struct store *s, uint64_t first, uint64_t last, bool lost)
{
	if (s->hold.fn != NULL)
		s->hold.fn(s->hold.ctx, first, last, lost);
}

void
store_hold_lost(struct store *s)
{
	uint64_t first = s->hold.first_seq, last = s->hold.last_seq;

	if (!s->hold.open)
		return;
	s->hold.open = false;
	s->hold.lost++;
	(void)sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	hold_told(s, first, last, true);
}

int
store_hold_commit(struct store *s)
{
	uint64_t first = s->hold.first_seq, last = s->hold.last_seq;
	int rc;

	if (!s->hold.open)
		return 0;
	/*
	 * The ack of every write in it waits for this commit: synchronous=FULL, set by the
	 * write that began it (SQLite changes it only outside a transaction), kept since.
	 */
	s->hold.open = false;
	s->hold.commits++;
	if ((rc = store_db_commit(s)) < 0) {
		s->hold.open = true; /* for store_hold_lost(), which store_db_rollback ran */
		s->hold.commits--;
		store_hold_lost(s);
	}
	(void)sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (rc == 0)
		hold_told(s, first, last, false);
	return rc;
}

int
store_hold_reveal(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	if (!s->hold.open || seq < s->hold.first_seq ||
	    memcmp(origin, s->self, ARR_ORIGIN_LEN) != 0)
		return 0;
	return store_hold_commit(s);
}

int
store_write_begin(struct store *s)
{
	int rc;

	s->hold.in = s->hold.join;
	s->hold.join = false;
	if (!s->hold.in)
		return store_db_begin(s);
	if (!s->hold.open) {
		if ((rc = store_db_run(s->st[ST_BEGIN])) < 0)
			return rc;
		s->hold.open = true;
		s->hold.t0 = mono_ms();
		s->hold.bytes = 0;
		s->hold.bytes0 = own_log_bytes(s);
		s->hold.writes = 0;
		s->hold.first_seq = vv_get(s->vec, s->self) + 1;
		s->hold.last_seq = 0;
	}
	/* the digest's state as of the savepoint, so that a rollback to it can read it back */
	if ((rc = store_digest_flush(s)) < 0 ||
	    (rc = sqlite3_exec(s->db, "SAVEPOINT held_write", NULL, NULL, NULL)) != SQLITE_OK) {
		store_db_rollback(s);
		return rc < 0 ? rc : store_db_error(rc);
	}
	return 0;
}

int
store_write_commit(struct store *s)
{
	uint64_t seq;

	if (!s->hold.in)
		return store_db_commit(s);
	s->hold.in = false;
	if (sqlite3_exec(s->db, "RELEASE held_write", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_rollback(s);
		return ARR_EDB;
	}
	seq = vv_get(s->vec, s->self);
	if (seq >= s->hold.first_seq)
		s->hold.last_seq = seq;
	s->hold.writes++;
	s->hold.bytes = own_log_bytes(s) - s->hold.bytes0;
	return 0;
}

void
store_write_undo(struct store *s)
{
	if (!s->hold.in) {
		store_db_rollback(s);
		return;
	}
	s->hold.in = false;
	if (!s->hold.open)
		return; /* the whole transaction went already */
	if (sqlite3_exec(s->db, "ROLLBACK TO held_write; RELEASE held_write", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_db_rollback(s);
		return;
	}
	s->hold.undone++;
	(void)store_mirror_load(s);
	store_verdict_forget(s);
	store_scope_memo_forget(s);
	/* what the digest noted of the rows rolled back is dropped: the state is read again */
	store_digest_close(s);
	if (store_digest_open(s) < 0)
		store_db_rollback(s);
}

void
store_hold_counts(const struct store *s, struct store_hold_counts *out)
{
	out->commits = s->hold.commits;
	out->lost = s->hold.lost;
	out->undone = s->hold.undone;
}
