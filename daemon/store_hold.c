/*
 * store_hold.c: the held write transaction (store.h, store_hold_join): consecutive local
 * writes of one client staged in one transaction and committed together
 * (synchronous=FULL) like a catch-up's bulk transaction. It owns the transaction's begin,
 * commit and undo for local writes; what a write does inside them is store_write.c's. It
 * must not decide when a hold ends: the API does, and any other transaction of the store
 * commits it first (store_db_begin, store_bulk_flush).
 *
 * Why: every commit rewrites nearly every page of the random-id indexes (UNIQUE(id, _sc)
 * of each domain table, _scope.scope), 30 MB at 100k arrangements; fewer commits of
 * more rows write each such page once per commit instead of once per request
 * (bench/README.md, "Held writes").
 *
 * A held write runs in the held transaction itself, without a savepoint of its own: a
 * savepoint makes SQLite copy each page dirty before it into the statement journal the
 * first time the write changes it, and every write of an import touches most of the index
 * pages the writes before it dirtied (+20 % CPU at 100k). Writes are refused rarely (the
 * domain rules, judged after the merge, store_rules.c), so a refused one is undone the
 * long way: the change sets staged before it are read back from the log (own seqs
 * first_seq..last_seq, at most the byte bound), the transaction is rolled back and begun
 * again, the mirrors are brought back (vector, origins, verdict and scope caches; the
 * digest's rollback hook reads its state again), and the change sets are applied again
 * in seq order by store_apply_changeset(), as the write path applied them: rows, clocks,
 * scopes and keys (a CREATE's and a REKEY's key come from this node's own slot), policy,
 * log and vector come out as they were. If that fails, the hold is lost (told). A write
 * refused before it changed a row (the routing, the keys and the authorisation refuse
 * before the merge) has nothing to undo: SQLite's count of changed rows says so.
 */
#include <stdint.h>
#include <stdlib.h>
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

/* The byte bound in force. */
static uint64_t
hold_max(const struct store *s)
{
	return s->hold.max_bytes != 0 ? s->hold.max_bytes : STORE_HOLD_MAX_BYTES;
}

void
store_hold_set_max(struct store *s, uint64_t bytes)
{
	s->hold.max_bytes = bytes;
}

void
store_hold_info(const struct store *s, struct store_hold_info *out)
{
	*out = (struct store_hold_info){.max_bytes = hold_max(s)};
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
store_hold_end(struct store *s, unsigned why)
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
	if ((rc = store_db_commit(s)) < 0) {
		s->hold.open = true; /* for store_hold_lost(), which store_db_rollback ran */
		store_hold_lost(s);
	}
	(void)sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (rc == 0) {
		s->hold.commits[why < STORE_HOLD_WHYS ? why : 0]++;
		hold_told(s, first, last, false);
	}
	return rc;
}

int
store_hold_commit(struct store *s)
{
	return store_hold_end(s, 0);
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
	s->hold.changes0 = sqlite3_total_changes(s->db);
	if (s->hold.open)
		return 0;
	if ((rc = store_db_run(s->st[ST_BEGIN])) < 0) {
		s->hold.in = false;
		return rc;
	}
	s->hold.open = true;
	s->hold.t0 = mono_ms();
	s->hold.bytes = 0;
	s->hold.bytes0 = own_log_bytes(s);
	s->hold.writes = 0;
	s->hold.first_seq = vv_get(s->vec, s->self) + 1;
	s->hold.last_seq = 0;
	return 0;
}

int
store_write_commit(struct store *s)
{
	uint64_t seq;

	if (!s->hold.in)
		return store_db_commit(s);
	s->hold.in = false;
	seq = vv_get(s->vec, s->self);
	if (seq >= s->hold.first_seq)
		s->hold.last_seq = seq;
	s->hold.writes++;
	s->hold.bytes = own_log_bytes(s) - s->hold.bytes0;
	return 0;
}

/* The staged change sets, read back from the log before the rollback (staged_read). */
struct staged {
	uint8_t **raw;
	size_t *len;
	size_t n;
};

static void
staged_free(struct staged *sg)
{
	for (size_t i = 0; i < sg->n; i++)
		free(sg->raw[i]);
	free(sg->raw);
	free(sg->len);
	*sg = (struct staged){0};
}

/*
 * Own change sets first_seq..last_seq of the open hold from the log, copied: at most the
 * byte bound (the API commits a hold that reaches it, so an undo never needs more; over
 * it the undo is refused and counted, ARR_EFULL), and exactly those seqs (ARR_EDB).
 */
static int
staged_read(struct store *s, struct staged *sg)
{
	sqlite3_stmt *st = s->st[ST_LOG_SINCE];
	uint64_t want = s->hold.last_seq >= s->hold.first_seq
	                    ? s->hold.last_seq - s->hold.first_seq + 1
	                    : 0,
	         bytes = 0;
	int rc = SQLITE_DONE;

	*sg = (struct staged){0};
	if (want == 0)
		return 0;
	if (s->hold.bytes > hold_max(s)) {
		s->hold.over++;
		return ARR_EFULL;
	}
	if (want > SIZE_MAX / sizeof(*sg->raw) ||
	    (sg->raw = calloc(want, sizeof(*sg->raw))) == NULL ||
	    (sg->len = calloc(want, sizeof(*sg->len))) == NULL)
		return ARR_ENOMEM;
	sqlite3_bind_int64(st, 1, s->self_oid);
	sqlite3_bind_int64(st, 2, (int64_t)s->hold.first_seq - 1);
	while (sg->n < want && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		const void *raw = sqlite3_column_blob(st, 1);

		if ((uint64_t)sqlite3_column_int64(st, 0) != s->hold.first_seq + sg->n ||
		    raw == NULL) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if ((bytes += len) > hold_max(s)) {
			s->hold.over++;
			rc = SQLITE_FULL;
			break;
		}
		if ((sg->raw[sg->n] = malloc(len)) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		memcpy(sg->raw[sg->n], raw, len);
		sg->len[sg->n++] = len;
	}
	sqlite3_reset(st);
	if (sg->n == want)
		return 0;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ARR_EDB : store_db_error(rc);
}

/* Staged change set i applied again, as the write path applied it (store_pack.c). */
static int
staged_apply(struct store *s, const struct staged *sg, size_t i)
{
	struct changeset *cs = NULL;
	int rc;

	if ((rc = changeset_decode(sg->raw[i], sg->len[i], &cs)) < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EDB; /* logged bytes always decode */
	if (memcmp(cs->origin, s->self, ARR_ORIGIN_LEN) != 0 ||
	    cs->h.seq != vv_get(s->vec, s->self) + 1 || cs->h.seq == s->hold.fail_at)
		rc = ARR_EDB;
	else if ((rc = store_apply_changeset(s, cs, s->self_oid)) > 0)
		rc = ARR_EDB; /* a local write's apply is never sliced */
	changeset_destroy(&cs);
	if (rc == 0)
		s->hold.replayed++;
	return rc;
}

/*
 * The held transaction rolled back and begun again with the staged change sets applied
 * again: the write running is gone, the ones before it are as they were. The memo of the
 * write's domain rules is left out of the replay (it judged that write only).
 */
static int
hold_replay(struct store *s)
{
	struct store_rules_memo *memo = s->rules_memo;
	struct staged sg;
	int rc;

	if ((rc = staged_read(s, &sg)) < 0)
		goto out;
	if ((rc = store_db_run(s->st[ST_ROLLBACK])) < 0)
		goto out;
	/* as store_db_rollback(), but the hold goes on; the digest reloads in its hook */
	(void)store_mirror_load(s);
	store_verdict_forget(s);
	store_scope_memo_forget(s);
	if ((rc = store_db_run(s->st[ST_BEGIN])) < 0)
		goto out;
	s->rules_memo = NULL;
	for (size_t i = 0; i < sg.n && rc == 0; i++)
		rc = staged_apply(s, &sg, i);
	s->rules_memo = memo;
	if (rc == 0 && vv_get(s->vec, s->self) + 1 != s->hold.first_seq + sg.n)
		rc = ARR_EDB;
	if (rc == 0)
		s->hold.bytes = own_log_bytes(s) - s->hold.bytes0;
out:
	staged_free(&sg);
	return rc;
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
	s->hold.undone++;
	/* refused before it wrote a row (routing, keys, authorisation): nothing to undo */
	if (sqlite3_total_changes(s->db) == s->hold.changes0)
		return;
	if (hold_replay(s) < 0)
		store_db_rollback(s); /* the hold is lost, and told */
}

void
store_hold_counts(const struct store *s, struct store_hold_counts *out)
{
	memcpy(out->commits, s->hold.commits, sizeof(out->commits));
	out->lost = s->hold.lost;
	out->undone = s->hold.undone;
	out->replayed = s->hold.replayed;
	out->over = s->hold.over;
}
