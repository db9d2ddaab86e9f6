/*
 * store_access_int.h: what the access log's files share (store_access.c writes and
 * prunes, store_access_read.c lists and verifies): the log's state and two helpers. Not
 * for other modules: they use store_access.h.
 */
#ifndef STORE_ACCESS_INT_H
#define STORE_ACCESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store_access_rec.h"

#define ACCESS_HASH_LEN STORE_ACCESS_REC_HASH

struct store_access {
	sqlite3 *db;
	char *org;
	sqlite3_stmt *ins, *begin, *commit; /* prepared once: a group commit parses nothing */
	int64_t last_seq;                   /* the newest written entry's seq (or the anchor's) */
	uint8_t last_hash[ACCESS_HASH_LEN]; /* ... the hash of its batch */
	/* records not yet written, in seq order, bounded by ACCESS_PENDING_BYTES */
	uint8_t *buf;
	size_t len, cap, count;
	int64_t pending_ms; /* when the first of them was made */
	uint64_t overflows; /* writes forced early by a full buffer */
	bool in_batch;      /* a read's notes are being made (store_access_begin) */
	size_t mark_len;    /* ... the bytes and records pending before it */
	size_t mark_count;
	bool span_ok;         /* lo_ms and hi_ms span every pending record (else: read them) */
	int64_t lo_ms, hi_ms; /* ... their earliest and latest at_ms */
	struct store_access_rec_ctx enc; /* the last record's strings, to refer back to */
};

/* The ARR_E* code of an SQLite error. */
int store_access_dberr(int rc);
/* Start of the chain: the anchor's seq and hash, or 0 and the zero hash. */
int store_access_anchor(struct store_access *a, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN]);

#endif
