/*
 * store_digest_inc.c: the content digest's state (PROTOCOL.md, "Digest") kept in step
 * with the domain tables, so that a digest is one hash of 2 KiB at any size. SQLite's
 * pre-update hook tells it of every row a statement inserts, updates or deletes, with
 * the row's values before and after, whichever file wrote it (the merge, a local write,
 * an erasure, a verdict redone, an upgrade): the old row's element is subtracted and the
 * new one's added, in memory. Before each commit store_db_commit() has the sum written
 * to _digest, in the same transaction as the rows; a rollback drops what was noted and
 * reads the state again. A state missing or of another definition or schema version is
 * built from scratch once when the store opens (store_digest_ready). It must not write
 * the domain tables, and hooks only the main connection.
 *
 * The hook builds each row's record and hands a copy to the worker
 * (store_digest_worker.c), which turns it into the element on the second core; the
 * flush and a digest take the worker's sum first, a rollback drops it. When the ring is
 * full the element is done here (counted: store_digest_inline).
 */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1 /* declares sqlite3_preupdate_*; see README */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* The definition the stored state follows (DIGEST_TAG's number in store_digest.c). */
#define DIGEST_DEF 3
#define COLS_MAX   64

/*
 * The worker's ring in bytes, and the records waiting that wake it (fewer are done by
 * the flush itself: a small write never wakes the worker). The worker does a record in
 * about 1.3 us, faster than the loop writes a row, so the ring fills only while the
 * worker is kept off the processor (4 MiB: about 10,000 records of 400 bytes, 30 ms of a
 * bulk write). The ring starts again at its beginning whenever it is empty, so small
 * writes keep touching the same page; only a bulk write reaches the rest.
 */
#define RING_BYTES (4u << 20)
#define WAKE_AT    64

struct store_digest_inc {
	uint16_t base[STORE_DIGEST_LANES];    /* the state as stored in _digest */
	uint16_t pending[STORE_DIGEST_LANES]; /* what rows changed since the last flush */
	bool changed;                         /* pending holds changes not written yet */
	bool reload;                          /* a rollback since: base is read again before use */
	bool rebuild;         /* no valid state stored yet: store_digest_ready() builds it */
	bool failed;          /* a row's element could not be computed: the commit is refused */
	int (*pos)[COLS_MAX]; /* per domain table: each name's column, then _deleted's */
	struct store_digest_rec rec;
	sqlite3_stmt *get, *put;
	struct store_digest_worker *w; /* NULL: every element is done here */
	uint64_t refused;              /* commits refused (store_digest_refused) */
	uint64_t inlined;              /* elements done here, the ring full (store_digest_inline) */
};

/* Read the stored state into d->base; ARR_ENOTFOUND when none of this definition. */
static int
inc_load(struct store_digest_inc *d)
{
	int rc, ret = ARR_ENOTFOUND;

	sqlite3_bind_int(d->get, 1, DIGEST_DEF);
	sqlite3_bind_int(d->get, 2, ARR_SCHEMA_VERSION);
	if ((rc = sqlite3_step(d->get)) == SQLITE_ROW &&
	    sqlite3_column_bytes(d->get, 0) == 2 * STORE_DIGEST_LANES) {
		store_digest_lanes_unpack(sqlite3_column_blob(d->get, 0), d->base);
		d->reload = false;
		ret = 0;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = store_db_error(rc);
	}
	sqlite3_reset(d->get);
	return ret;
}

/* Write lanes as the stored state. */
static int
inc_put(struct store_digest_inc *d, const uint16_t lanes[STORE_DIGEST_LANES])
{
	uint8_t st[2 * STORE_DIGEST_LANES];
	int rc;

	store_digest_lanes_pack(lanes, st);
	sqlite3_bind_int(d->put, 1, DIGEST_DEF);
	sqlite3_bind_int(d->put, 2, ARR_SCHEMA_VERSION);
	sqlite3_bind_blob(d->put, 3, st, sizeof(st), SQLITE_TRANSIENT);
	rc = sqlite3_step(d->put);
	sqlite3_reset(d->put);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* Whether a _deleted value hides its row (the select's "_deleted <> 1" fails). */
static bool
inc_hidden(sqlite3_value *v)
{
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		return sqlite3_value_int64(v) == 1;
	case SQLITE_FLOAT:
		return sqlite3_value_double(v) == 1.0;
	case SQLITE_NULL:
		return true;
	default:
		return false;
	}
}

static bool
inc_same(sqlite3_value *a, sqlite3_value *b)
{
	int t = sqlite3_value_type(a);
	double x, y;
	size_t n;

	if (t != sqlite3_value_type(b))
		return false;
	switch (t) {
	case SQLITE_INTEGER:
		return sqlite3_value_int64(a) == sqlite3_value_int64(b);
	case SQLITE_FLOAT:
		x = sqlite3_value_double(a);
		y = sqlite3_value_double(b);
		return memcmp(&x, &y, sizeof(x)) == 0;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		n = (size_t)sqlite3_value_bytes(a);
		return n == (size_t)sqlite3_value_bytes(b) &&
		       (n == 0 || memcmp(sqlite3_value_blob(a), sqlite3_value_blob(b), n) == 0);
	default:
		return true;
	}
}

/*
 * The values of the row the hook is told of, before (old) or after: vals[0 .. nnames)
 * in tb->names order, then _deleted. False when SQLite cannot give one.
 */
static bool
inc_values(struct store_digest_inc *d, sqlite3 *db, size_t t, const struct store_table *tb,
           bool old, sqlite3_value **vals)
{
	for (size_t c = 0; c <= tb->nnames; c++)
		if ((old ? sqlite3_preupdate_old(db, d->pos[t][c], &vals[c])
		         : sqlite3_preupdate_new(db, d->pos[t][c], &vals[c])) != SQLITE_OK)
			return false;
	return true;
}

/* Subtract (sub) or add the element of a row with vals, when visible, into pending. */
static void
inc_note(struct store_digest_inc *d, const struct store_table *tb, sqlite3_value **vals, bool sub)
{
	if (inc_hidden(vals[tb->nnames]))
		return;
	if (!store_digest_record(&d->rec, tb, vals, ARR_SCHEMA_VERSION))
		return;
	if (d->rec.oom) {
		d->failed = true;
		return;
	}
	d->changed = true;
	if (d->w != NULL && store_digest_worker_put(d->w, d->rec.p, d->rec.len, sub))
		return;
	if (d->w != NULL)
		d->inlined++;
	store_digest_element(d->rec.p, d->rec.len, sub, d->pending);
}

/* sqlite3_preupdate_hook: a row of table name is about to change. */
static void
inc_hook(void *ctx, sqlite3 *db, int op, const char *dbname, const char *name, sqlite3_int64 k1,
         sqlite3_int64 k2)
{
	struct store *s = ctx;
	struct store_digest_inc *d = s->digest;
	sqlite3_value *ov[COLS_MAX], *nv[COLS_MAX];
	const struct store_table *tb = NULL;
	size_t t;

	(void)k1;
	(void)k2;
	if (d->rebuild || name[0] == '_' || strcmp(dbname, "main") != 0)
		return;
	for (t = 0; t < s->ntables && tb == NULL; t++)
		if (strcmp(s->tables[t].t->name, name) == 0)
			tb = &s->tables[t];
	if (tb == NULL)
		return;
	t--;
	if ((op != SQLITE_INSERT && !inc_values(d, db, t, tb, true, ov)) ||
	    (op != SQLITE_DELETE && !inc_values(d, db, t, tb, false, nv))) {
		d->failed = true;
		return;
	}
	if (op == SQLITE_UPDATE) {
		size_t c = 0;

		while (c <= tb->nnames && inc_same(ov[c], nv[c]))
			c++;
		if (c > tb->nnames)
			return; /* only clocks changed */
	}
	if (op != SQLITE_INSERT)
		inc_note(d, tb, ov, true);
	if (op != SQLITE_DELETE)
		inc_note(d, tb, nv, false);
}

/*
 * sqlite3_commit_hook: a commit of rows whose changes were not written to _digest
 * (a commit that bypassed store_db_commit) is turned into a rollback, so that the
 * stored state never disagrees with the rows; nothing is lost, the caller sees an error.
 */
static int
inc_commit(void *ctx)
{
	struct store *s = ctx;
	struct store_digest_inc *d = s->digest;

	if (d->rebuild || (!d->changed && !d->failed)) {
		store_scope_tally_end(s, true);
		return 0;
	}
	d->refused++;
	return 1; /* a rollback: its hook follows */
}

/* sqlite3_rollback_hook: what was noted is gone with the rows; base is read again. */
static void
inc_rollback(void *ctx)
{
	struct store *s = ctx;
	struct store_digest_inc *d = s->digest;

	store_scope_tally_end(s, false);
	if (d->w != NULL)
		store_digest_worker_drop(d->w);
	memset(d->pending, 0, sizeof(d->pending));
	d->changed = false;
	d->failed = false;
	d->reload = true;
}

/* Move what the worker summed into pending: every key put so far is in it after. */
static void
inc_take(struct store_digest_inc *d)
{
	if (d->w != NULL)
		store_digest_worker_take(d->w, d->pending);
}

/* Whether the database's text is UTF-8 (the record's bytes can then be read as they are). */
static bool
inc_utf8(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool utf8 = false;

	if (sqlite3_prepare_v2(db, "PRAGMA encoding", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		utf8 = strcmp((const char *)sqlite3_column_text(st, 0), "UTF-8") == 0;
	sqlite3_finalize(st);
	return utf8;
}

/* Each domain table's column positions: names in tb->names order, then _deleted. */
static int
inc_positions(struct store *s, struct store_digest_inc *d)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if ((d->pos = calloc(s->ntables, sizeof(*d->pos))) == NULL)
		return ARR_ENOMEM;
	if ((rc = sqlite3_prepare_v2(s->db, "SELECT cid, name FROM pragma_table_info(?1)", -1, &st,
	                             NULL)) != SQLITE_OK)
		return store_db_error(rc);
	for (size_t t = 0; t < s->ntables && ret == 0; t++) {
		const struct store_table *tb = &s->tables[t];

		if (tb->nnames + 1 > COLS_MAX)
			ret = ARR_EINVAL;
		for (size_t c = 0; c <= tb->nnames && ret == 0; c++)
			d->pos[t][c] = -1;
		sqlite3_bind_text(st, 1, tb->t->name, -1, SQLITE_STATIC);
		while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(st, 1);

			for (size_t c = 0; c <= tb->nnames && col != NULL; c++)
				if (strcmp(col, c < tb->nnames ? tb->names[c] : SCHEMA_DELETED) ==
				    0)
					d->pos[t][c] = sqlite3_column_int(st, 0);
		}
		if (ret == 0 && rc != SQLITE_DONE)
			ret = store_db_error(rc);
		sqlite3_reset(st);
		for (size_t c = 0; c <= tb->nnames && ret == 0; c++)
			if (d->pos[t][c] < 0)
				ret = ARR_EDB;
	}
	sqlite3_finalize(st);
	return ret;
}

int
store_digest_open(struct store *s)
{
	struct store_digest_inc *d;
	int ret;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ARR_ENOMEM;
	s->digest = d;
	if ((ret = inc_positions(s, d)) < 0)
		return ret;
	d->rec.utf8 = inc_utf8(s->db);
	if (sqlite3_prepare_v3(s->db,
	                       "SELECT st FROM _digest WHERE k = 0 AND def = ?1 AND schema = ?2",
	                       -1, SQLITE_PREPARE_PERSISTENT, &d->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db,
	                       "INSERT OR REPLACE INTO _digest(k, def, schema, st) "
	                       "VALUES(0, ?1, ?2, ?3)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &d->put, NULL) != SQLITE_OK)
		return ARR_EDB;
	if ((ret = inc_load(d)) == ARR_ENOTFOUND)
		d->rebuild = true;
	else if (ret < 0)
		return ret;
	/* without a thread (none to be had) every element is done on this one */
	d->w = store_digest_worker_new(RING_BYTES, SIZE_MAX, WAKE_AT);
	sqlite3_preupdate_hook(s->db, inc_hook, s);
	/* the store's, for the digest and the scope counts (store_scope_read.c) */
	sqlite3_commit_hook(s->db, inc_commit, s);
	sqlite3_rollback_hook(s->db, inc_rollback, s);
	return 0;
}

int
store_digest_ready(struct store *s)
{
	struct store_digest_inc *d = s->digest;
	int ret;

	if (!d->rebuild)
		return 0;
	if ((ret = store_db_begin(s)) < 0)
		return ret;
	if ((ret = store_digest_scan(s, ARR_SCHEMA_VERSION, d->base)) < 0 ||
	    (ret = inc_put(d, d->base)) < 0) {
		store_db_rollback(s);
		return ret;
	}
	if (d->w != NULL)
		store_digest_worker_drop(d->w);
	memset(d->pending, 0, sizeof(d->pending));
	d->changed = false;
	d->rebuild = false;
	if ((ret = store_db_commit(s)) < 0)
		d->rebuild = true;
	return ret;
}

int
store_digest_flush(struct store *s)
{
	struct store_digest_inc *d = s->digest;
	uint16_t next[STORE_DIGEST_LANES];
	int ret;

	if (d == NULL || d->rebuild || (!d->changed && !d->failed))
		return 0;
	if (d->failed)
		return ARR_ENOMEM;
	if (d->reload && (ret = inc_load(d)) < 0)
		return ret == ARR_ENOTFOUND ? ARR_EDB : ret;
	inc_take(d);
	memcpy(next, d->base, sizeof(next));
	store_digest_lanes_add(next, d->pending);
	if ((ret = inc_put(d, next)) < 0)
		return ret;
	/* a failed commit rolls back, and the rollback has base read again */
	memcpy(d->base, next, sizeof(next));
	memset(d->pending, 0, sizeof(d->pending));
	d->changed = false;
	return 0;
}

int
store_digest(struct store *s, uint8_t out[32])
{
	struct store_digest_inc *d = s->digest;
	uint16_t lanes[STORE_DIGEST_LANES];
	int ret;

	if (d == NULL || d->rebuild)
		return store_digest_full(s, out);
	if (d->failed)
		return ARR_ENOMEM;
	if (d->reload && (ret = inc_load(d)) < 0)
		return ret == ARR_ENOTFOUND ? ARR_EDB : ret;
	inc_take(d);
	memcpy(lanes, d->base, sizeof(lanes));
	store_digest_lanes_add(lanes, d->pending);
	store_digest_final(lanes, out);
	return 0;
}

uint64_t
store_digest_refused(const struct store *s)
{
	return s->digest != NULL ? s->digest->refused : 0;
}

uint64_t
store_digest_inline(const struct store *s)
{
	return s->digest != NULL ? s->digest->inlined : 0;
}

int
store_digest_tune(struct store *s, size_t bytes, size_t inline_max, size_t wake_at)
{
	struct store_digest_inc *d = s->digest;

	if (d == NULL)
		return 0;
	inc_take(d);
	store_digest_worker_destroy(&d->w);
	if (bytes == 0)
		return 0;
	d->w = store_digest_worker_new(bytes, inline_max, wake_at);
	return d->w != NULL ? 0 : ARR_ENOMEM;
}

void
store_digest_close(struct store *s)
{
	struct store_digest_inc *d = s->digest;

	if (d == NULL)
		return;
	if (s->db != NULL) {
		sqlite3_preupdate_hook(s->db, NULL, NULL);
		sqlite3_commit_hook(s->db, NULL, NULL);
		sqlite3_rollback_hook(s->db, NULL, NULL);
	}
	store_digest_worker_destroy(&d->w);
	sqlite3_finalize(d->get);
	sqlite3_finalize(d->put);
	free(d->pos);
	free(d->rec.p);
	free(d);
	s->digest = NULL;
}
