/*
 * store_int.h: what the store_*.c files share and nothing outside them may include: the
 * private struct store, the cached statements, the per-table statements and the internal
 * functions one store file offers the others (prefixed by the file that defines them).
 * Only the store files touch sqlite3 (store.h says what the replica owns).
 *
 * Layout of the replica: one table per schema.h table (id, columns, _deleted, _rid,
 * _clk, _sc, _log: the change set that inserted the row; no declared types, so values are stored
 * exactly as merged); _meta (node origin, schema version, store format), _origin (local id <->
 * 32-byte origin), _log (verbatim envelopes by origin and seq), _vv, _rowlog (row -> log entries
 * after its _log, for history), _pending and _quarantine, and what each origin uses of their
 * budgets (_pending_use, _quarantine_use, kept by triggers in the same transactions), and _equiv
 * (proofs of equivocation, store_equiv.c). The LWW clocks of a row's cells are kept in the row
 * itself
 * (_clk, see store_clock.c), so a merge reads and writes one record per row. Merge rules
 * are specified in PROTOCOL.md, "Merge rules".
 *
 * Locality: domain tables are rowid tables, the rowid (_rid) given in arrival order,
 * with the random UUID text in a UNIQUE index; _rowlog is keyed by (table, rowid). New
 * rows thus append at the right edge of the table and of _rowlog, and only the id index
 * takes scattered inserts, so a commit dirties few pages. Rowids are local: they never
 * leave the replica (the wire, the digest and every read use the id).
 *
 * Hot paths (apply, merge, log) use statements prepared once in store_open; a change
 * set costs one log insert, one vector upsert and one pending probe. A row it creates
 * costs one insert (data, clocks and the first history entry); a row that exists costs
 * an insert probe, one lookup, one update and one history insert.
 *
 * The store logs nothing: callers log ids and counts from the results it returns.
 *
 * Files: store_open.c (open, close, settings), store_db.c (statements, transactions),
 * store_mirror.c (origin ids, vector mirror), store_ckpt.c (WAL checkpoints),
 * store_clock.c (clock records), store_merge.c (LWW merge), store_apply.c (remote change
 * sets, pending), store_applyjob.c (a change set merged in slices), store_quarantine.c,
 * store_budget.c (budgets of pending and quarantine), store_bulk.c (bulk mode, large
 * cache, trim), store_write.c (local writes, own-seq hold), store_read.c (get, list,
 * history, vector, change sets, stats), store_query.c (read-only SQL), store_digest.c,
 * store_backup.c.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "changeset.h"
#include "hlc.h"
#include "nodekey.h"
#include "schema.h"
#include "store.h"
#include "value.h"
#include "vv.h"

#define BUSY_TIMEOUT_MS 5000
#define CLOCK_LEN       20   /* one cell's key: hlc, local origin id, seq */
#define CLOCK_GROUP_LEN 28   /* in a stored clock record: a key and its column mask */
#define CACHE_KIB       8192 /* page cache of the main connection (F5: RSS <= 32 MiB) */
#define STORE_DIRTY_MAX 256  /* scopes remembered for store_scope_heal() */

/* Cached statements of the main connection, by job (SQL in store_db.c). */
enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_ORIGIN_INS,
	ST_LOG_INS,
	ST_LOG_GET,
	ST_LOG_CHAIN,
	ST_EQ_FROM,
	ST_LOG_SINCE,
	ST_VV_UPSERT,
	ST_ROWLOG_INS,
	ST_ROWLOG_INS2, /* two history entries of one log id (store_merge.c's batches) */
	ST_ROWLOG_INS4, /* ... four */
	ST_PEND_GET,
	ST_PEND_INS,
	ST_PEND_DEL,
	ST_PEND_MAX,
	ST_PEND_USE,
	ST_PEND_TOP,
	ST_Q_UPSERT,
	ST_Q_GET,
	ST_Q_DEL,
	ST_Q_ATTEMPT,
	ST_Q_DEL_HASH,
	ST_Q_HAS,
	ST_Q_NEXT,
	ST_LOG_USE,
	ST_Q_MAXID,
	ST_Q_USE,
	ST_Q_EVICT,
	ST_Q_BYTES,
	ST_SCOPE_GET,
	ST_SCOPE_INS,
	ST_SCOPE_BYID,
	ST_POLICY_OWNS,
	ST_SKEY_GET,
	ST_SKEY_INS,
	ST_SKEY_FIRST,
	ST_POLICY_INS,
	ST_POLICY_LOAD,
	ST_SEALED_INS,
	ST_SEALED_LIST,
	ST_SEALED_DEL,
	ST_LOG_BY_ID,
	ST_LOG_LEN_RAW,
	ST__COUNT
};

/* Per domain table: column names for callbacks and the statements built from schema.h. */
struct store_table {
	const struct schema_table *t;
	const char **names; /* "id", then the schema columns without _deleted */
	size_t nnames;
	char *select;         /* SELECT id, cols FROM t WHERE _deleted <> 1 */
	sqlite3_stmt *insert; /* new row: id, columns, clock record; nothing if the id exists */
	sqlite3_stmt *update; /* existing row by rowid: the columns selected by a mask, clocks */
	sqlite3_stmt *get;    /* select ... AND id = ?1 */
	sqlite3_stmt *find;   /* SELECT _rid, _clk ... WHERE id = ?1 (deleted rows too) */
	sqlite3_stmt *scope;  /* the scope id and local scope of the row with id ?1 */
};

struct store_ckpt;       /* the checkpoint thread (store_ckpt.c) */
struct store_precheck;   /* the check ahead of the apply (store_precheck.c) */
struct store_quota_over; /* an origin over its log quota (store_quota.c) */

struct policy_slot;
struct policy_party;
struct cs_policy;

#define STORE_SHARED_MAX 256 /* pairwise keys cached (store_scope_shared) */

/* The key this node shares with one peer (nodekey_shared), as store_scope.c caches it. */
struct store_shared {
	uint8_t peer[ARR_ORIGIN_LEN];
	uint8_t key[NODEKEY_SHARED_LEN];
};

struct store {
	sqlite3 *db;
	sqlite3 *ro;          /* read-only connection for store_query, lazily */
	uint64_t ro_deadline; /* monotonic ms after which the running query is interrupted */
	bool (*ro_interrupt)(void *ctx); /* ... or when this says so (NULL: never) */
	void *ro_interrupt_ctx;
	uint64_t ro_time;    /* a query's time in ms (store_query_time); 0: STORE_QUERY_TIME_MS */
	char ro_denied[64];  /* the first function the running query may not call */
	char ro_tables[256]; /* the schema tables the running query reads, comma-separated */
	const struct nodekey *key;
	uint8_t self[ARR_ORIGIN_LEN];
	int64_t self_oid;
	char *org;
	store_member_fn member_org;
	void *member_ctx;
	struct store_mship *mship; /* the replicated membership (store_member.c) */
	const uint8_t *(*member_at)(void *ctx, size_t i); /* NULL: no list */
	bool grant_all;                                   /* store_config.grant_on_create_all */
	store_clock_fn clock;
	void *clock_ctx;
	uint64_t max_drift;
	bool rules; /* local writes keep the domain rules (store_rules.c) */
	struct store_rules_memo *rules_memo; /* during such a write, told of each row merged */
	struct store_search *search;         /* rows changed since the index's last flush */
	struct store_digest_inc *digest;     /* the content digest's state (store_digest_inc.c) */
	struct store_seal *seal;             /* builds a write's change sets (store_seal.c) */
	struct store_seal_stats seal_stats;  /* where they were built (store_pack.c) */
	uint64_t clock_rejected;             /* change sets refused by the drift check since open */
	struct store_budget budget;          /* every field set (store_set_budget) */
	uint64_t pending_dropped;            /* dropped or evicted from pending since open */
	uint64_t quarantine_evicted;         /* evicted from quarantine since open */
	struct store_quota_over *over;       /* origins over their log quota (store_quota.c) */
	size_t nover, over_cap;
	uint64_t quota_refused; /* change sets refused over a quota since open */
	uint64_t quota_gen;     /* changes with what store_quota_held() raises */
	bool own_heard;         /* a peer answered a pull to the end since open (store_own_heard) */
	unsigned schema_from;   /* the schema version the replica had when opened */
	uint64_t unknown_max_count; /* bounds of _unknown (store_unknown.c) */
	uint64_t unknown_max_bytes;
	bool restored; /* _meta says "restored": a backup copy, writes held until own_heard */
	struct hlc hlc;
	struct vv *vec;                     /* mirror of _vv, reloaded after a rollback */
	uint8_t (*origins)[ARR_ORIGIN_LEN]; /* mirror of _origin: id i+1 is origins[i] */
	size_t norigins;
	size_t origins_cap;
	sqlite3_stmt *st[ST__COUNT];
	struct store_table *tables;
	size_t ntables;
	struct value *scratch; /* one row of values, widest table */
	uint8_t *clocks;       /* one row's cell keys (CLOCK_LEN each), widest table */
	uint8_t *clkrec;       /* one row's encoded clock record (store_clock_encode), widest */
	size_t maxcols;
	char errbuf[512];
	struct store_ckpt *ckpt; /* the checkpoint thread, NULL when SQLite has no threads */
	int wal_pages;           /* WAL frames after the last commit (from the WAL hook) */
	int ckpt_hard;           /* the WAL's hard limit in pages (store_ckpt.c) */
	bool bulk;               /* store_bulk_begin() called, store_bulk_end() not yet */
	uint64_t large_at;       /* monotonic ms of the last bulk or large write; 0: small cache */
	int cache_kib;           /* the page cache's size now (store_db_cache_set) */
	bool bulk_tx;            /* a bulk transaction is open */
	uint64_t bulk_t0;        /* monotonic ms when it began */
	struct store_slice {     /* a change set parked half-merged (store_applyjob.c) */
		uint64_t deadline; /* until when store_apply_sliced() may merge; 0: no limit */
		uint64_t until_ms; /* the deadline of the merge running now (store_merge.c) */
		size_t part;       /* the part the merge goes on with */
		const struct cs_op *ops; /* that part's ops being merged; NULL: from its start */
		size_t nops, at;         /* how many; the op the merge goes on at */
		struct cs_op *known;     /* ops is this copy (store_unknown_split), owned */
		int64_t log_id, sc;      /* the parked change set's log row; the part's scope */
		bool fresh;              /* that scope is new here (store_scope_apply) */
		struct changeset *cs;    /* parked, owned; NULL: none */
		int64_t oid;
		uint64_t now;
		struct store_apply_stats done; /* finished since store_apply_resume() */
		int rc;                        /* a settle's error, for store_apply_resume() */
	} slice;
	uint64_t scope_masked; /* case change sets whose ops were not merged (see store_scope.c) */
	/*
	 * What `status` counts of scopes (store_scope_read.c): kept as rows come and go, so
	 * that a status costs no scan; committed, and the open transaction's changes.
	 */
	struct store_scope_tally {
		int64_t scopes, readable, sealed;
	} tally, tally_tx;
	int64_t dirty[STORE_DIRTY_MAX]; /* scopes whose policy grew (store_scope_heal.c) */
	size_t ndirty;
	uint64_t dirty_dropped;                       /* over STORE_DIRTY_MAX, forgotten */
	struct store_shared shared[STORE_SHARED_MAX]; /* a ring; wiped on destroy */
	size_t nshared;                               /* entries of shared in use */
	size_t shared_next;      /* the entry the next new peer takes (the oldest when full) */
	uint64_t shared_evicted; /* pairwise keys evicted from shared since open */
	struct store_scope_memo *scope_memo; /* scopes and keys just made (store_scope_memo.c) */
	struct store_verdicts *verdicts;     /* write authorisation (store_verdict.c) */
	struct store_erase *erase;           /* erasure (store_erase.c) */
	struct store_precheck *precheck; /* received change sets checked ahead (store_precheck.h) */
	bool merge_general;       /* tests: new rows merged by the general path (store_merge.c) */
	struct store_hold {       /* the held write transaction (store_hold.c) */
		store_hold_fn fn; /* told of each end of a hold; NULL: nobody */
		void *ctx;
		bool join;                         /* the next store_write_rows() joins the hold */
		bool in;                           /* the write running is staged in the hold */
		bool open;                         /* a held transaction is open */
		uint64_t t0;                       /* monotonic ms it began */
		uint64_t bytes0;                   /* own log bytes when it began */
		uint64_t bytes;                    /* own change-set bytes staged since */
		uint64_t max_bytes;                /* the byte bound (store_hold_set_max) */
		uint64_t writes;                   /* writes staged */
		uint64_t first_seq, last_seq;      /* own seqs staged (last_seq 0: none) */
		uint64_t commits[STORE_HOLD_WHYS]; /* store_hold_counts() */
		uint64_t lost, undone, replayed, over;
		int changes0;     /* sqlite3_total_changes() as the write running began */
		uint64_t fail_at; /* tests: the undo's replay fails at this seq (0: never) */
	} hold;
};

/* The key of the op that won a cell: (hlc, local origin id, seq); oid 0: none yet. */
struct cellkey {
	uint64_t hlc;
	uint32_t oid;
	uint64_t seq;
};

/* ---- store_rules.c: the domain rules of a local write ---- */

struct store_rules_memo; /* what the rules remember during one write (store_rules.c) */

/* Start remembering the rows of a local write (s->rules_memo until store_rules_free). */
int store_rules_before(struct store *s, const struct cs_op *cops, size_t nops,
                       struct store_rules_memo **m);
/*
 * The merge of a local write touched row (id its text) of table ti: inserted as new, or
 * about to change (an arrangement's status is read before its first change).
 */
int store_rules_touch(struct store *s, int ti, const uint8_t row[ARR_ROWID_LEN], const char *id,
                      bool inserted);
/*
 * Every row touched by ops, as merged inside the write's transaction; r says why not.
 * cops are ops as change-set ops, in the same order (store_write.c).
 */
int store_rules_check(struct store *s, const struct store_op *ops, const struct cs_op *cops,
                      size_t nops, struct store_write_result *r);
/* Forget the write (*m NULLed, s->rules_memo too); *m may be NULL. */
void store_rules_free(struct store *s, struct store_rules_memo **m);

/* ---- store_seal.c: a local write's change sets built on a second thread ---- */

#define STORE_SEAL_BYTES (2 * (size_t)ARR_CS_MAX_BYTES) /* in flight: two change sets */

/* changeset_build(), or what a test puts in its place. */
typedef int (*store_seal_build_fn)(const struct nodekey *key, const struct cs_header *h,
                                   const struct cs_part_in *parts, size_t nparts,
                                   struct changeset **out);
/*
 * A change set to build: what changeset_build() takes, all of which (the parts, their ops,
 * keys and bodies) must stay unchanged until the job is done; bytes bounds its envelope.
 * rc and cs are changeset_build()'s result, the cs the putter's to destroy.
 */
struct store_seal_job {
	const struct nodekey *key;
	struct cs_header h;
	const struct cs_part_in *parts;
	size_t nparts;
	size_t bytes;
	struct changeset *cs;
	int rc;
	bool done; /* under the worker's lock (store_seal_wait) */
	struct store_seal_job *next;
};

struct store_seal;
/* A worker that holds jobs of at most bytes in all; build NULL: changeset_build. */
struct store_seal *store_seal_new(size_t bytes, store_seal_build_fn build);
/* Stop the worker: the job it builds is finished, those not begun are done with ARR_ESTATE. */
void store_seal_destroy(struct store_seal **w);
/* Queue j; false (j untouched but for its result fields) when it would pass the bound. */
bool store_seal_put(struct store_seal *w, struct store_seal_job *j);
/* Wait until j, put on w, is done. */
void store_seal_wait(struct store_seal *w, struct store_seal_job *j);
/* A new worker of bytes with build (tests); bytes 0: none, every change set built inline. */
int store_seal_tune(struct store *s, size_t bytes, store_seal_build_fn build);

/* ---- store_digest.c, store_digest_inc.c: the content digest ---- */

#define STORE_DIGEST_LANES 1024 /* LtHash16: lanes of 16 bits (PROTOCOL.md, "Digest") */

/*
 * A row record being encoded; oom once a growth failed (later puts do nothing). utf8:
 * the database's text is UTF-8, so a text value's bytes are read as they are (set by
 * whoever knows; false reads them through sqlite3_value_text(), the same bytes).
 */
struct store_digest_rec {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool oom;
	bool utf8;
};

/*
 * The row record (PROTOCOL.md, "Digest") of a row of tb with values vals (in tb->names
 * order) at schema version v into b. False, for a row left out, when all its columns
 * of v are nil.
 */
bool store_digest_record(struct store_digest_rec *b, const struct store_table *tb,
                         sqlite3_value *const *vals, unsigned v);
/* Add (or subtract: sub) the element of the row record rec into lanes. */
void store_digest_element(const uint8_t *rec, size_t len, bool sub,
                          uint16_t lanes[STORE_DIGEST_LANES]);
/*
 * store_digest_element() in its two halves: the row's key (BLAKE2b-256 of its record),
 * then the element the key expands to (2 KiB of ChaCha20) added into (or subtracted
 * from: sub) lanes. The second is the worker's (store_digest_worker.c).
 */
#define STORE_DIGEST_KEYLEN 32
void store_digest_key(const uint8_t *rec, size_t len, uint8_t key[STORE_DIGEST_KEYLEN]);
void store_digest_expand(const uint8_t key[STORE_DIGEST_KEYLEN], bool sub,
                         uint16_t lanes[STORE_DIGEST_LANES]);
/* a += b, lane by lane modulo 2^16. */
void store_digest_lanes_add(uint16_t a[STORE_DIGEST_LANES], const uint16_t b[STORE_DIGEST_LANES]);
/* The state as 2048 bytes (each lane little-endian), and back. */
void store_digest_lanes_pack(const uint16_t lanes[STORE_DIGEST_LANES],
                             uint8_t out[2 * STORE_DIGEST_LANES]);
void store_digest_lanes_unpack(const uint8_t in[2 * STORE_DIGEST_LANES],
                               uint16_t lanes[STORE_DIGEST_LANES]);
/* The digest of a state. */
void store_digest_final(const uint16_t lanes[STORE_DIGEST_LANES], uint8_t out[32]);
/* The state of all visible rows at schema version v, by a scan of every table. */
int store_digest_scan(struct store *s, unsigned v, uint16_t lanes[STORE_DIGEST_LANES]);
/*
 * Load the stored state and hook the main connection (s->digest); a state missing or
 * of another definition or schema version is to be built by store_digest_ready().
 */
int store_digest_open(struct store *s);
/* Build the state from scratch if store_digest_open() found none valid (own transaction). */
int store_digest_ready(struct store *s);
/*
 * Write the state with the rows changed since the last flush to _digest, inside the
 * open transaction; store_db_commit() calls it before every commit.
 */
int store_digest_flush(struct store *s);
/* Unhook and free s->digest; NULL-safe. */
void store_digest_close(struct store *s);
/*
 * Tests only: give the worker a ring of bytes (0: no worker, every element on the
 * caller's thread); a flush does the records the worker has not claimed itself when
 * they are at most inline_max (the store's: all), else wakes the worker and waits for
 * it; a put wakes the worker once wake_at are waiting. Outside a transaction. 0 or
 * ARR_ENOMEM (the store keeps working, without a worker).
 */
int store_digest_tune(struct store *s, size_t bytes, size_t inline_max, size_t wake_at);

/*
 * store_digest_worker.c: the thread that turns rows' records into their elements. The
 * loop's thread puts (record, add or subtract) into a ring bounded in bytes; the worker
 * adds the elements into lanes of its own, a batch at a time; a take does the records
 * the worker has not claimed itself, waits for the batch in progress and adds the
 * worker's lanes into the caller's; a drop forgets what was put and not taken.
 */
struct store_digest_worker;
/* Start a worker with a ring of bytes; NULL if it cannot (no memory, no thread): the
 * caller then does every element itself. */
struct store_digest_worker *store_digest_worker_new(size_t bytes, size_t inline_max,
                                                    size_t wake_at);
/* Stop and join the worker; what it held is lost. *w NULLed; NULL-safe. */
void store_digest_worker_destroy(struct store_digest_worker **w);
/* Hand a copy of the record rec over; false when the ring has no room (the caller does it). */
bool store_digest_worker_put(struct store_digest_worker *w, const uint8_t *rec, size_t len,
                             bool sub);
/* Wait until every element put is done, add them into lanes and forget them. */
void store_digest_worker_take(struct store_digest_worker *w, uint16_t lanes[STORE_DIGEST_LANES]);
/* Forget every element put and not taken (a rollback). */
void store_digest_worker_drop(struct store_digest_worker *w);

/* ---- store_search.c: the full-text index of arrangements ---- */

/*
 * Create the index if needed, start noting changed rows (s->search), and record a
 * rebuild (run by store_search_step) when the index is missing, of another format or
 * behind the log; an unfinished one is resumed. Never rebuilds at once.
 */
int store_search_open(struct store *s);
/*
 * Rebuild the documents of the arrangements the rows noted since the last flush touch
 * (after an overflow of the notes: record that the whole index is to be rebuilt), in a
 * transaction of its own (an open bulk transaction is committed first).
 */
int store_search_flush(struct store *s);
/* Flush, stop noting, free s->search (a rebuild running is left for the next open). */
void store_search_close(struct store *s);

/* ---- store_db.c: statements, bindings, transactions ---- */

int store_db_error(int rc);
int store_db_prepare(struct store *s);
void store_db_finalize(struct store *s);
int store_db_run(sqlite3_stmt *st);
int store_db_row_ints(sqlite3_stmt *st, int64_t key, size_t n, int64_t *out);
int store_db_blob(sqlite3_stmt *st, int col, void *out, size_t len);
int store_db_bind_value(sqlite3_stmt *st, int idx, const struct value *v);
struct value store_db_column_value(sqlite3_stmt *st, int i);
int store_db_table_index(const char *name);
int store_db_cache_set(struct store *s, int kib);
int store_db_begin(struct store *s);
void store_db_rollback(struct store *s);
int store_db_commit(struct store *s);

/* ---- store_mirror.c: in-memory copies of _origin and _vv ---- */

int64_t store_mirror_origin_find(const struct store *s, const uint8_t origin[ARR_ORIGIN_LEN]);
int store_mirror_origin_id(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], int64_t *oid);
int store_mirror_load(struct store *s);

/* ---- store_ckpt.c: WAL checkpoints off the loop ---- */

int store_ckpt_start(struct store *s, const char *path);
void store_ckpt_stop(struct store *s);
void store_ckpt_wal_limit(struct store *s);
/*
 * The thread's checkpoints so far, and the most WAL frames one of them copied (what it
 * fsynced first, at most) and the most one of the others did; zeros without the thread.
 * For the tests.
 */
void store_ckpt_stats(const struct store *s, uint64_t *checkpoints, int most[2]);

/* ---- store_clock.c: wall clock, clocks in the database, per-row clock records ---- */

uint64_t store_clock_now(struct store *s);
int64_t store_clock_to_db(uint64_t h);
uint64_t store_clock_from_db(int64_t v);
struct cellkey store_clock_get(const uint8_t *clocks, size_t ci);
void store_clock_put(uint8_t *clocks, size_t ci, const struct cellkey *k);
size_t store_clock_encode(const uint8_t *clocks, size_t ncols, uint8_t *out);
int store_clock_decode(const struct store *s, const uint8_t *rec, size_t len, uint8_t *clocks,
                       size_t ncols);

/* ---- store_merge.c: last-writer-wins merge into the domain tables ---- */

/* Merge ops (of a part of cs, logged as log_id) into the rows of local scope sc. */
int store_merge_part(struct store *s, const struct changeset *cs, const struct cs_op *ops,
                     size_t nops, int64_t oid, int64_t log_id, int64_t sc);
/* Merge on the part a sliced apply parked inside (slice.ops from slice.at): 0, or
 * STORE_MERGE_MORE when it stopped at slice.until_ms again. */
int store_merge_resume(struct store *s, const struct changeset *cs, int64_t oid);
int store_merge_row_find(struct store *s, const struct store_table *tb, const char *id, int64_t sc,
                         int64_t *rid, int64_t *first);
/* The rowid of row id in any scope (the lowest local scope id first): 0 or ARR_ENOTFOUND. */
int store_merge_row_any(struct store *s, const struct store_table *tb, const char *id,
                        int64_t *rid);

/* ---- store_apply.c: logging and applying change sets ---- */

int store_apply_changeset(struct store *s, struct changeset *cs, int64_t oid);
int store_apply_count(struct store *s, const struct changeset *cs, int64_t oid);
int store_apply_next(struct store *s, const struct changeset *cs, int64_t oid, uint64_t now,
                     struct store_apply_stats *stats);
int store_apply_begin(struct store *s);
int store_apply_end(struct store *s);

/* ---- store_applyjob.c: a change set merged over several calls ---- */

#define STORE_MERGE_MORE 1 /* a merge stopped at slice.until_ms (store_merge.c) */
int store_applyjob_park(struct store *s, struct changeset **cs, int64_t oid, uint64_t now);
void store_applyjob_drop(struct store *s);
int store_apply_one(struct store *s, const uint8_t *raw, size_t len, uint64_t now,
                    enum store_outcome *out, struct store_apply_stats *stats);

/* ---- store_quarantine.c ---- */

int store_quarantine_put(struct store *s, const uint8_t *raw, size_t len, const uint8_t *origin,
                         uint64_t seq, int reason, const char *detail, uint64_t now);
int store_quarantine_clear(struct store *s, const uint8_t *raw, size_t len);

/* ---- store_budget.c: budgets of pending and quarantine ---- */

/* Bytes a quarantine entry counts beyond its kept bytes (SQL of store_open.c says so too). */
#define STORE_Q_ENTRY_BYTES 128
int store_budget_pending_admit(struct store *s, int64_t oid, uint64_t seq, uint64_t have,
                               size_t len, bool *admit);
int store_budget_bucket(struct store *s, const uint8_t *origin, int reason, int64_t *bucket);
bool store_budget_keeps_bytes(int reason);
int store_budget_quarantine_trim(struct store *s, int64_t bucket);
/* ---- store_quota.c: the log quota of each origin ---- */

int store_quota_admit(struct store *s, int64_t oid, uint64_t seq, size_t len, bool *admit);
void store_quota_reset(struct store *s);

/* ---- store_equiv.c: equivocation proofs, the frozen origins, log chain hashes ---- */

int store_equiv_from(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t *from);
/*
 * A removed member's change sets from seq from on leave the log, history, pending set and
 * vector, and the rows they touched are merged again (the rule of an equivocation, without a
 * proof): store_member.c's cut.
 */
int store_equiv_cut(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t from);
int store_equiv_chain(struct store *s, int64_t oid, const struct changeset *cs, uint8_t out[32]);
int store_equiv_conflict(struct store *s, sqlite3_stmt *st, int64_t oid, const struct changeset *cs,
                         uint64_t now, struct store_apply_stats *stats);

/* ---- store_policy.c: the meaning of a scope's policy set ---- */

struct store_policy_op {
	int64_t log;
	int part; /* its index in the change set */
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq;
	uint8_t op; /* enum policy_op; a CREATE's parties are GRANTs of its log and part */
	bool has_member;
	uint8_t member[ARR_ORIGIN_LEN];
	uint32_t roles;
	uint64_t key_id;
	char author[ARR_ORG_MAX + 1];
	bool issuer; /* its origin may issue policy in this scope */
	bool valid;  /* CREATE of the owner, GRANT active, REVOKE/REKEY by an issuer */
	bool head;   /* a valid rotation whose key no valid rotation supersedes */
};
struct store_policy_rm {
	int64_t log; /* the REVOKE */
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq; /* the GRANT it removes */
};
struct store_policy_prev {
	int64_t log; /* the REVOKE or REKEY */
	uint64_t key_id;
};
struct store_policy_slot {
	int64_t log;
	uint64_t key_id;
	uint8_t member[ARR_ORIGIN_LEN];
};
struct store_policy {
	struct store_policy_op *ops;
	size_t nops;
	struct store_policy_rm *rms;
	size_t nrms;
	struct store_policy_prev *prevs;
	size_t nprevs;
	struct store_policy_slot *slots;
	size_t nslots;
	uint64_t *superseded; /* nprevs key ids, sorted (evaluate) */
	bool has_owner;
	uint8_t owner[ARR_ORIGIN_LEN];
	char owner_org[ARR_ORG_MAX + 1];
	uint64_t write_key; /* 0: none */
	size_t nheads;
};

int store_policy_load(struct store *s, int64_t sc, struct store_policy *p);

/* ---- store_policy_body.c: a policy part's body, read from its log entry ---- */

#define STORE_POLICY_HLEN 8 /* bytes of the part's body hash a _policy row keeps */

/* Part i of cs, logged as log_id, into _policy in scope sc: where its body is logged. */
int store_policy_record(struct store *s, const struct changeset *cs, size_t i, int64_t sc,
                        int64_t log_id);
/* Reads bodies of one scope's rows: a blob handle on _log.raw and a buffer, owned. */
struct store_policy_reader {
	sqlite3_blob *blob;
	int64_t log; /* the entry blob is at */
	uint8_t *buf;
	size_t cap;
};
/*
 * The len bytes at off of log entry log's raw into *body (r's buffer, valid until the
 * next read), checked against the first hlen (STORE_POLICY_HLEN) bytes h of its hash:
 * ARR_EDB (s->errbuf says so) when they are not there or do not match, never the bytes.
 */
int store_policy_body_read(struct store *s, struct store_policy_reader *r, int64_t log, int64_t off,
                           int64_t len, const void *h, size_t hlen, const uint8_t **body);
void store_policy_reader_close(struct store_policy_reader *r);
/*
 * After log entry log_id's raw became raw (len bytes): its _policy rows point where their
 * bodies now are, and a row whose body is gone is dropped.
 */
int store_policy_repoint(struct store *s, int64_t log_id, const uint8_t *raw, size_t len);
void store_policy_free(struct store_policy *p);
bool store_policy_is_owner(const struct store_policy *p, const uint8_t origin[ARR_ORIGIN_LEN]);
bool store_policy_is_reader(const struct store_policy *p, const uint8_t member[ARR_ORIGIN_LEN]);
bool store_policy_may_issue(const struct store_policy *p, const uint8_t origin[ARR_ORIGIN_LEN]);
bool store_policy_has_slot(const struct store_policy *p, uint64_t key_id,
                           const uint8_t member[ARR_ORIGIN_LEN]);
/* More than one head, a reader without the write key, or a non-reader with it. */
bool store_policy_needs_rekey(const struct store_policy *p);

/* ---- store_upgrade.c: the replica moved to this binary's schema version ---- */

/* The schema version _meta of db holds (0 and 0 when it has none). */
int store_upgrade_stored(sqlite3 *db, unsigned *v);
/*
 * Back up the replica at dbpath to pre-upgrade-<from>.db beside it, then open the
 * migration transaction and add the columns version from lacked. The new tables are
 * created by store_open.c inside it; store_upgrade_finish() completes it.
 */
int store_upgrade_begin(struct store *s, const char *dbpath, unsigned from);
/* Merge again the change sets kept for later (*n of them), set the version, commit. */
int store_upgrade_finish(struct store *s, unsigned from, size_t *n);

/* ---- store_unknown.c: ops of a newer schema, kept until this node knows them ---- */

#define STORE_UNKNOWN_MAX_COUNT 100000u     /* logged change sets noted in _unknown */
#define STORE_UNKNOWN_MAX_BYTES (64u << 20) /* bytes of the ops they hold */

/*
 * Whether the ops of a change set of schema_version may be applied or kept: a value of
 * the wrong type for a known column, or an unknown table, column or enum value in a
 * change set of this schema version or older, is ARR_ESCHEMA with a short detail.
 */
int store_unknown_check(uint32_t schema_version, const struct cs_op *ops, size_t nops, char *detail,
                        size_t dlen);
/*
 * Split the ops of log entry log_id (scope sc) into those this schema knows and those
 * it keeps for later. *nknown is how many are known; *known is NULL when they all are
 * (use ops) or none is, else a malloc'd array the caller frees.
 */
int store_unknown_split(struct store *s, const struct cs_op *ops, size_t nops, int64_t log_id,
                        int64_t sc, struct cs_op **known, size_t *nknown);
/*
 * Merge again every change set noted in _unknown (every one of the log newer than
 * schema version from after an overflow), in the caller's transaction; *n counts them.
 */
int store_unknown_replay(struct store *s, unsigned from, size_t *n);

/* ---- store_scope.c: scopes, their keys, sealed change sets ---- */

/* The local id of scope (0: the region); with create, a new one if unknown. */
int store_scope_local(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], bool create,
                      int64_t *sc);
/*
 * The scope of the row id of table as merged here (all zero for the region's; its local
 * id into *sc, 0 for the region, unless sc is NULL): 0, ARR_ENOTFOUND or ARR_ESCHEMA.
 */
int store_scope_row(struct store *s, const char *table, const char *id,
                    uint8_t scope[ARR_SCOPE_LEN], int64_t *sc);
/* store_scope_local(create) for a scope that is almost surely new (this node's CREATE). */
int store_scope_new(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t *sc);
/* The id of local scope sc: 0 or ARR_ENOTFOUND. */
int store_scope_bytes(struct store *s, int64_t sc, uint8_t scope[ARR_SCOPE_LEN]);
/* The key key_id of scope sc that this node holds: 0 or ARR_ENOTFOUND. */
int store_scope_key(struct store *s, int64_t sc, uint64_t key_id, uint8_t key[ARR_SKEY_LEN]);
/*
 * Open the case data parts of a logged change set whose keys this node holds: 0 all
 * opened (or none sealed), 1 some have no key here, or the error of a part that does not
 * open with its key.
 */
int store_scope_open(struct store *s, struct changeset *cs);
/* store_scope_open() of a change set not yet applied: a data part right after the CREATE of
 * its scope is left for store_scope_apply() (its key comes with that CREATE): 1. */
int store_scope_open_received(struct store *s, struct changeset *cs);
/* After cs was logged as log_id: per part, merge it, record its policy, or wait for its key. */
int store_scope_apply(struct store *s, struct changeset *cs, int64_t oid, int64_t log_id);
/* Of a change set without policy parts parked by a sliced apply: the parts from
 * slice.part on (that one inside, when slice.ops is set). 0, or STORE_MERGE_MORE when it
 * stopped at slice.until_ms again (slice says where). */
int store_scope_resume(struct store *s, struct changeset *cs, int64_t oid);
/* The ops of part fit the schema, and name tables of the part's scope kind (region or
 * case): 0, or ARR_ESCHEMA / ARR_ESCOPE with a short detail (no personal data). */
int store_scope_ops_valid(const struct cs_part *part, uint32_t schema_version, char *detail,
                          size_t dlen);
/* Does table t belong to case scopes (an arrangement and what hangs off it)? */
bool store_scope_table_is_case(const struct schema_table *t);
/*
 * A scope's entries, one table each, gone (erasure, in the caller's transaction): the
 * keys this node holds (_skey), its policy parts (_policy: their bodies with the key
 * slots), its parts waiting sealed for a key (_sealed). 0 or an error.
 */
int store_scope_drop_keys(struct store *s, int64_t sc);
int store_scope_drop_policy(struct store *s, int64_t sc);
int store_scope_drop_sealed(struct store *s, int64_t sc);
/* Keep key key_id of scope sc: 1 when new, 0 when held already, or an error. */
int store_scope_key_put(struct store *s, int64_t sc, uint64_t key_id,
                        const uint8_t key[ARR_SKEY_LEN]);
/* The key this node shares with peer (nodekey_shared; peer may be this node), from a
 * bounded cache: one X25519 per peer while it stays cached. Caller wipes out. */
int store_scope_shared(struct store *s, const uint8_t peer[ARR_ORIGIN_LEN],
                       uint8_t out[NODEKEY_SHARED_LEN]);
/* A key slot from this node to member (policy_slot_seal under the shared key). */
int store_scope_slot_seal(struct store *s, const uint8_t member[ARR_ORIGIN_LEN], uint64_t key_id,
                          const uint8_t key[ARR_SKEY_LEN], struct policy_slot *slot);
/* Wipe the cache of shared keys (store_destroy). */
void store_scope_shared_wipe(struct store *s);

/*
 * store_scope_memo.c: the scopes (scope id -> local id) and keys (local id, key id ->
 * key) this process just inserted; a look-up that misses asks the database. Forgotten on
 * rollback, when a scope's keys are dropped, and on close (store_scope_memo_free).
 */
struct store_scope_memo;
bool store_scope_memo_sc(const struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t *sc);
void store_scope_memo_put_sc(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc);
bool store_scope_memo_key(const struct store *s, int64_t sc, uint64_t key_id,
                          uint8_t key[ARR_SKEY_LEN]);
void store_scope_memo_put_key(struct store *s, int64_t sc, uint64_t key_id,
                              const uint8_t key[ARR_SKEY_LEN]);
void store_scope_memo_forget(struct store *s);
void store_scope_memo_free(struct store *s);
/* Merge the change sets of sc sealed under key_id, which this node now holds. */
int store_scope_materialise(struct store *s, int64_t sc, uint64_t key_id,
                            const uint8_t key[ARR_SKEY_LEN]);

/* ---- store_route.c: the scope of each op of a local write ---- */

/* scopes[i] for ops[i]; on a refusal r->bad_op and r->refusal say why. */
int store_route(struct store *s, const struct cs_op *ops, size_t nops,
                uint8_t (*scopes)[ARR_SCOPE_LEN], struct store_write_result *r);

/* ---- store_scope_write.c: policy this node issues ---- */

/* Slots (and parties + 1) a CREATE of this node takes: itself and grant_on_create's. */
size_t store_scope_create_max(struct store *s);
/*
 * The CREATE of a new scope as part `part` of this node's change set at seq (inside the
 * caller's transaction): its id into scope (changeset_scope_id()), a new key into key
 * (kept in _skey), the body into p with its slots and parties in the caller's arrays of
 * store_scope_create_max() entries: a slot for this node, and a party with a slot for
 * each member store_config.grant_on_create asks for.
 */
int store_scope_create_part(struct store *s, uint64_t seq, size_t part,
                            uint8_t scope[ARR_SCOPE_LEN], uint8_t key[ARR_SKEY_LEN],
                            struct cs_policy *p, struct policy_slot *slots,
                            struct policy_party *parties);
/* The key to write scope under (rekeying first when this node should): ARR_ENOTPARTY
 * when this node holds no current key. */
int store_scope_write_key(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                          uint8_t key[ARR_SKEY_LEN], uint64_t *key_id,
                          struct store_write_result *r);

/* ---- store_pack.c: the change sets of a local write ---- */

/* A run of a local write's ops of one scope, and what writing into that scope takes. */
struct store_group {
	const struct cs_op *ops;
	size_t nops, done;            /* done: ops already packed into a change set */
	uint8_t scope[ARR_SCOPE_LEN]; /* a new scope's routing name, then its real id */
	bool fresh;                   /* a scope the write opens (its CREATE not yet packed) */
	uint8_t key[ARR_SKEY_LEN];    /* a case scope's write key */
};

/* Pack the groups (keys set) into change sets, one part per scope; sign, log, apply each. */
int store_pack_write(struct store *s, struct store_group *g, size_t ng,
                     struct store_write_result *r);
/*
 * The header of this node's next own change set: the next seq, a send time of the
 * hybrid clock (which it advances), this node's organisation and schema version. Every
 * own change set (a write's, a policy's, a member's) starts here.
 */
void store_pack_header(struct store *s, struct cs_header *h);

/* ---- store_scope_heal.c: the owner's repairs after remote policy ---- */

/* Remember that the policy of local scope sc grew. */
void store_scope_dirty(struct store *s, int64_t sc);
/* store_scope_write.c: the owner's repairs of one scope in the caller's transaction. */
int store_scope_heal_one(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc,
                         struct store_write_result *r);

/* ---- store_verdict.c: write authorisation, denied change sets ---- */

struct rolematrix_rule;

/* The header fields a verdict reads (borrowed). */
struct store_verdict_hdr {
	const uint8_t *origin; /* ARR_ORIGIN_LEN bytes */
	uint64_t seq;
	const char *author_org;
	uint32_t schema_version;
};

/* A verdict: allowed (rule NULL, name NULL), or the rule op number op broke. */
struct store_verdict {
	const struct rolematrix_rule *rule; /* NULL also when no rule names the write */
	const char *name;                   /* the broken rule's name; NULL: allowed */
	size_t op;
	bool own; /* name is one of the rule's own conditions (rolematrix.h), not its who */
};

int store_verdict_open(struct store *s);
void store_verdict_close(struct store *s);
/* Drop every compiled policy (after a rollback). */
/*
 * The apply of the CREATE that scope sc's id names (changeset_part_creates): origin owns
 * sc, which the verdict keeps rather than look it up again for the data part that follows.
 */
void store_verdict_owner_seen(struct store *s, int64_t sc, const uint8_t origin[ARR_ORIGIN_LEN]);
void store_verdict_forget(struct store *s);
/* Change sets newly denied since open. */
uint64_t store_verdict_denied_count(const struct store *s);
/*
 * The verdict on ops[0..nops) of one change set (or part) of local scope sc by h: a pure
 * function of h, sc, the ops and the set of sc's policy change sets, looked up in a cache
 * per (scope, policy epoch). 0 or a database error.
 */
int store_verdict_judge(struct store *s, const struct store_verdict_hdr *h, int64_t sc,
                        const struct cs_op *ops, size_t nops, struct store_verdict *v);
/*
 * store_verdict_judge() of a local write (store_write.c), with the local rule too that a
 * reference row takes no member organisation's name (the members file, which the verdict
 * on a logged change set never reads).
 */
int store_verdict_judge_local(struct store *s, const struct store_verdict_hdr *h, int64_t sc,
                              const struct cs_op *ops, size_t nops, struct store_verdict *v);
/*
 * store_verdict_judge() for a logged change set about to be merged, with the verdict
 * recorded: 1 when it is denied (listed in _denied), 0 when allowed.
 */
int store_verdict_admit(struct store *s, const struct store_verdict_hdr *h, int64_t oid,
                        int64_t log_id, int64_t sc, const struct cs_op *ops, size_t nops);
/* Remember what scope's policy means before a policy change set of it is recorded. */
int store_verdict_policy_before(struct store *s, const uint8_t scope[ARR_SCOPE_LEN]);
/*
 * The policy of local scope sc grew (since store_verdict_policy_before): the verdicts it changes
 * are recomputed and the cells they touch fall back to their last authorised values
 * (store_verdict_redo.c).
 */
int store_verdict_policy_grew(struct store *s, int64_t sc);
/*
 * The policy of local scope sc grew by a change set with policy parts of several scopes:
 * every verdict of sc is judged again (when any was judged).
 */
int store_verdict_policy_all(struct store *s, int64_t sc);
/* Whether log entry log_id is denied (*denied). */
int store_verdict_is_denied(struct store *s, int64_t log_id, int64_t sc, bool *denied);
/*
 * A denied change set judged again and still denied: record the rule it breaks now (a
 * grant that arrived since may move it from one rule to another), so that the list is
 * the same whatever order the policy and the change set arrived in.
 */
int store_verdict_relabel(struct store *s, int64_t log_id, int64_t sc,
                          const struct store_verdict *v);

/* ---- store_verdict_redo.c: recomputing verdicts and cells after policy grew ---- */

/*
 * Re-judge the merged change sets of scope sc by the members in members[0..n) (all of
 * sc's when all) and recompute the rows of those whose verdict changed.
 */
int store_verdict_redo(struct store *s, int64_t sc, const uint8_t (*members)[ARR_ORIGIN_LEN],
                       size_t n, bool all);
/*
 * A REDACT: the rows that the data parts in sc of log entries drop[0..n) wrote are
 * merged again from the change sets that wrote them, after strip() dropped those bodies.
 */
int store_verdict_redo_without(struct store *s, int64_t sc, const int64_t *drop, size_t n,
                               int (*strip)(struct store *s, int64_t sc, int64_t log_id));

/* ---- store_erase.c, store_erase_scope.c, store_erase_ledger.c: erasure ---- */

struct store_erase {
	sqlite3_stmt *state;    /* how a scope is gone */
	sqlite3_stmt *redacted; /* is (sc, origin, seq) redacted */
	bool any;               /* anything erased, shredded or redacted: the apply path looks */
	bool ckpt_due;          /* an erasure committed: checkpoint and truncate the WAL */
	char *ledger;           /* the erasure ledger's path (malloc'd); NULL: none */
	bool replaying;         /* the ledger is being replayed: nothing appended to it */
	uint64_t replayed;      /* scopes the ledger gave back at open */
	uint64_t erased, redacted_n, stripped, stubs_held, ignored, shredded;
};

int store_erase_open(struct store *s);
void store_erase_close(struct store *s);
/* How local scope sc is gone here: 0 (live), STORE_GONE_ERASED, STORE_GONE_SHREDDED. */
int store_erase_state(struct store *s, int64_t sc);
/* Is the body of part i of cs dropped here (an erased scope, a redacted body)? 1 or 0. */
int store_erase_drops(struct store *s, const struct changeset *cs, size_t i);
/* cs's envelope with the bodies drop[i] says left out (nil): malloc'd *out. */
int store_erase_envelope(const struct changeset *cs, const bool *drop, uint8_t **out,
                         size_t *outlen);
/* cs's envelope without the bodies this node drops, or *out NULL when it keeps them all. */
int store_erase_filter(struct store *s, const struct changeset *cs, uint8_t **out, size_t *outlen);
/* Every stub part of cs has a reason here: 0, else ARR_ESCOPE with a detail. */
int store_erase_stubs_ok(struct store *s, const struct changeset *cs, char *detail, size_t dlen);
/* Erase local scope sc (its id scope) in the caller's transaction; ledger first. */
int store_erase_scope(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN]);
/*
 * Record that log entry log_id has a part in scope sc that no other table names (an
 * ERASE or REDACT, a data part that never opened), so that an erasure strips its body.
 */
int store_erase_note(struct store *s, int64_t sc, int64_t log_id);
/* ERASE or REDACT part i of cs in scope sc, applied (or ignored when not allowed). */
int store_erase_policy(struct store *s, const struct changeset *cs, size_t i, int64_t sc,
                       int64_t log_id);
/* The ERASE parts of a verified change set applied at once, before it is in order. */
int store_erase_received(struct store *s, const struct changeset *cs);
/*
 * The ledger's erasure of local scope sc, whose change set a crash lost: issued again
 * when this node owns sc and may write (0), else 1 (the caller erases it locally).
 */
int store_erase_reissue(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN]);
/* After a commit that erased: checkpoint and truncate the WAL (outside a transaction). */
void store_erase_settle(struct store *s);
/*
 * Shred local scope sc here alone (its id scope) in the caller's transaction: this
 * node's keys, clear rows and history go; ciphertext stays logged and relayed.
 */
int store_shred_scope(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN]);
/* Append scope, how, to the ledger and fsync it (no ledger: nothing). */
int store_erase_ledger_add(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int how);
/* At open: what the ledger lists and the replica does not, done again. */
int store_erase_ledger_replay(struct store *s, const char *dbpath);
/* Issue policy p of scope as this node's next change set (store_scope_write.c). */
int store_scope_issue(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                      const struct cs_policy *p, struct store_write_result *r);

/* ---- store_hold.c: the held write transaction ---- */

/*
 * A local write's transaction (store_write_rows): its own (BEGIN ... COMMIT), or when it
 * joins the hold (store_hold_join) the held transaction, opened first when none is. Undo
 * of a held write rolls the held transaction back and applies the change sets staged
 * before the write again, then brings the mirrors back: the write's own part alone is
 * gone (or, when that fails, the whole hold, told as lost).
 */
int store_write_begin(struct store *s);
int store_write_commit(struct store *s);
void store_write_undo(struct store *s);
/*
 * About to hand out (origin, seq) or something of it (its bytes, its hash): when it is a
 * staged change set of the hold, the hold is committed first. 0 or the commit's error.
 */
int store_hold_reveal(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq);
/* The held transaction was rolled back whole (store_db_rollback): tell the hook. */
void store_hold_lost(struct store *s);

/* ---- store_scope_read.c: the scope counts of status ---- */

/* Count them from the tables (open); nothing of a transaction may be open. */
int store_scope_tally_load(struct store *s);
/* The open transaction changed them by these. */
void store_scope_tally_add(struct store *s, int64_t scopes, int64_t readable, int64_t sealed);
/* It ended: committed (its changes kept) or rolled back (dropped). */
void store_scope_tally_end(struct store *s, bool committed);

/* ---- store_bulk.c: bulk transactions and the large page cache ---- */

int store_bulk_flush(struct store *s);
int store_bulk_cache_grow(struct store *s);

#endif
