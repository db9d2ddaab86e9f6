/*
 * store_access.h: the access log (NEN 7513): who read which case data through the local
 * API, kept in its own append-only database file next to the replica (access.db), each
 * group commit's entries stored as one batch chained to the batch before by a BLAKE2b
 * hash, so that a changed, deleted or reordered entry or batch shows. It holds ids and column names
 * only, never a value.
 */
#ifndef STORE_ACCESS_H
#define STORE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_access_rec.h"

struct store_access;

/* One entry; strings borrowed for the duration of a callback; NULL when absent. */
struct store_access_entry {
	int64_t seq;             /* 1, 2, ... never reused */
	int64_t at_ms;           /* wall-clock time of the read, ms since the epoch */
	int64_t uid;             /* the reader's Unix uid (SO_PEERCRED), -1 unknown */
	const char *user;        /* its user name, or the uid as text */
	const char *org;         /* this node's organisation */
	const char *action;      /* get, list, history, search, query, export */
	const char *table;       /* the table read */
	const char *row;         /* the row id read, when one */
	const char *arrangement; /* the arrangement it hangs off, when known */
	const char *fields;      /* the column names read, comma-separated */
	/*
	 * To append only: 0 or 1, the note of one row; k > 1 (at most
	 * STORE_ACCESS_REC_ROWS), the note of k rows of one read, row holding their k ids
	 * back to back and arrangement k ids or NULL: stored as one record, listed and
	 * counted as k entries, each of one row.
	 */
	size_t rows;
	/*
	 * To append only, as the reader has them: row_ids the rows' ids in binary (16 bytes
	 * a row; row is then not read), arr_ids their arrangements' (arr_ids == row_ids:
	 * each row is an arrangement; NULL: arrangement as text). shape: non-zero, the
	 * caller's promise that user, action, table and fields are those of every entry it
	 * appended with this shape (store_access_rec_shape_new gives a new one), so that
	 * they need not be compared with the note before's.
	 */
	const uint8_t *row_ids, *arr_ids;
	uint64_t shape;
};

/* The log at path (created when absent) kept by organisation org. NULL with *err. */
struct store_access *store_access_open(const char *path, const char *org, int *err);
void store_access_destroy(struct store_access **a);

/*
 * Group the appends of one read until store_access_end(); end with ok false takes them
 * back. A read's notes are packed records in memory (bounded in bytes: when full, the
 * notes of the reads before are written at once, and store_access_overflows() counts
 * it), written by store_access_commit() in one transaction as one batch, hashed then:
 * the caller commits before the data leaves, or within its own bound of time. A note
 * appended outside a read is written at once, as a batch of its own.
 */
int store_access_begin(struct store_access *a);
int store_access_end(struct store_access *a, bool ok);
/* Write the notes made since the last commit (none: 0); on an error they are kept. */
int store_access_commit(struct store_access *a);
/* Are notes waiting for a commit, and since when (ms since the epoch)? */
bool store_access_uncommitted(const struct store_access *a, int64_t *since_ms);
/* How often a full buffer had the notes written before their commit. */
uint64_t store_access_overflows(const struct store_access *a);
/* Append e (seq and at_ms are assigned; org is the log's). */
int store_access_append(struct store_access *a, const struct store_access_entry *e);

typedef int (*store_access_fn)(void *ctx, const struct store_access_entry *e);
/*
 * Entries after seq after, at or after since_ms, of arrangement (NULL: any), in seq
 * order, at most limit (0: all). fn returning non-zero stops: negative is returned,
 * positive means enough.
 */
int store_access_list(struct store_access *a, int64_t after, int64_t since_ms,
                      const char *arrangement, size_t limit, store_access_fn fn, void *ctx);

/* What verification found: ok, or the first entry at fault and how. */
struct store_access_verdict {
	bool ok;
	uint64_t checked;   /* entries whose hash was checked */
	int64_t bad_seq;    /* the first entry at fault (for "deleted": the first missing) */
	int64_t bad_last;   /* ... the last entry of its batch (the hash covers a batch) */
	const char *reason; /* static text: "modified or reordered", "deleted", ... */
	int64_t pruned_to;  /* entries up to this seq were pruned by retention (0: none) */
	uint8_t head[32];   /* hash of the last batch: record it elsewhere to pin the log */
};
int store_access_verify(struct store_access *a, struct store_access_verdict *v);

/*
 * Drop the entries older than before_ms (retention), keeping the chain verifiable: the
 * anchor remembers the last dropped seq and hash, and a "prune" entry records the act.
 */
int store_access_prune(struct store_access *a, int64_t before_ms, uint64_t *pruned);

#endif
