/*
 * store_search_int.h: what store_search.c (the index, its notes and flushes, search)
 * and store_search_rebuild.c (the stepped rebuild of the whole index) share, and
 * nothing else may include: the state of the index (struct store_search) and the
 * functions one of the two offers the other. It must not be included outside
 * store_search*.c.
 */
#ifndef STORE_SEARCH_INT_H
#define STORE_SEARCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

/* Where a rebuild is: none, remembering parties, or rebuilding documents. */
enum phase { P_NONE, P_PARTIES, P_DOCS };

struct note {
	int64_t rid;
	int32_t kind; /* K_NONE: a free slot */
};

/* The rows changed since the last flush (open addressing), and the rebuild running. */
struct store_search {
	struct note *v; /* 2 * SEARCH_NOTES_MAX slots (store_search.c) */
	size_t n;
	size_t notes_max;   /* SEARCH_NOTES_MAX, or less (a test's) */
	size_t batch;       /* SEARCH_BATCH, or less (a test's) */
	bool all;           /* too many noted: start the rebuild over */
	uint64_t overflows; /* times the notes ran over notes_max */
	uint64_t built;     /* documents the steps have written, since the open */
	int phase;          /* enum phase, as _meta 'search_phase' holds it */
	int64_t cursor;     /* the last _rid done in this phase ('search_cursor') */
	int64_t done;       /* arrangements rebuilt in this rebuild ('search_done') */
	sqlite3_stmt *note; /* INSERT into temp._search_note */
};

/*
 * store_search.c: the first integer column of sql's first row, or dflt (no row, NULL,
 * an error).
 */
int64_t store_search_query_int(struct store *s, const char *sql, int64_t dflt);
/*
 * store_search.c: rebuild the documents of the arrangements in temp._search_todo (in the
 * open transaction), then empty it: 0 or ARR_EDB.
 */
int store_search_build(struct store *s);
/*
 * store_search_rebuild.c: start the rebuild over (in the open transaction): recorded,
 * not run.
 */
int store_search_rebuild_start(struct store *s);

#endif
