/*
 * store_scan.h: a table read in slices of rowids, so that a caller can read a whole
 * table a few milliseconds at a time, between other work (the subject export's walk,
 * api_export_walk.c), without an index on the column it looks for; and a mark that
 * moves whenever the replica's connection changes a row, so that what was read can be
 * kept while the mark stays. It reads only.
 */
#ifndef STORE_SCAN_H
#define STORE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "value.h"

/* One visible row of a slice: its id and the value of the column read. */
typedef int store_scan_fn(void *ctx, const char *id, const struct value *v);

/*
 * The rows of table after rowid *after, in rowid order, at most max_rows of them (fewer
 * when the monotonic clock passes until, in ms, checked every few rows; 0: none): fn for
 * each visible one (not deleted) with its id and its column's value; fn returning non-zero
 * stops the read with that code. *after becomes the last rowid read and *visited grows by
 * the rows read (deleted ones too). 0 when rows were read, 1 when none was left after
 * *after, or an error (ARR_ESCHEMA: no such table or column).
 */
int store_scan(struct store *s, const char *table, const char *column, int64_t *after,
               size_t max_rows, uint64_t until, uint64_t *visited, store_scan_fn fn, void *ctx);

/* A count of the rows the replica's connection changed: equal marks, no row changed. */
uint64_t store_scan_mark(struct store *s);

#endif
