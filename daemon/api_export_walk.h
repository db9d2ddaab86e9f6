/*
 * api_export_walk.h: the walk of a subject export (api_export.c, docs/export.md): every
 * row this node holds about one child, found by reading each table it may be in once,
 * a slice at a time, so that the loop turns between steps; the result is kept by the
 * export between its pages. It reads through store_scan.h only and holds no socket.
 */
#ifndef API_EXPORT_WALK_H
#define API_EXPORT_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "store.h"

/* Rows one export may hold: far past any child's file, short of exhausting memory. */
#define EXPORT_ROWS_MAX 100000
#define EXPORT_WALK     16 /* bytes of the digest of a walk */

/* One row of the walk: its table (the schema's name, static) and id. */
struct export_row {
	const char *table;
	char id[ARR_ROWID_STRLEN + 1];
};

struct export_walk;

/* A walk of the child with ref (copied), not started. 0 or ARR_ENOMEM. */
int export_walk_new(const char *ref, struct export_walk **out);
void export_walk_destroy(struct export_walk **w);

/*
 * One step of the walk: slices of rows read until budget_ms have passed or max_rows rows
 * were read (0: no bound in rows). 1 when the walk is complete (then its rows are known),
 * 0 when more steps are needed, ARR_ENOTFOUND when no child has the ref, ARR_ETOOBIG
 * past EXPORT_ROWS_MAX rows, or the store's error.
 */
int export_walk_step(struct export_walk *w, struct store *s, unsigned budget_ms, size_t max_rows);

/* Whether the walk is complete. */
bool export_walk_complete(const struct export_walk *w);
/* The ref the walk is of. */
const char *export_walk_ref(const struct export_walk *w);
/* The rows of a complete walk, in the export's order: the child's rows by id, then the
 * rows each of them leads to (arrangements; the rows naming an arrangement, table by
 * table; goal evaluations of an evaluation), each group by id. */
const struct export_row *export_walk_rows(const struct export_walk *w, size_t *n);
/*
 * The arrangement of child row i (the first rows of the walk are the child rows): the
 * first by id of those naming it, as the access log notes a child row's; NULL: none.
 */
const char *export_walk_lead(const struct export_walk *w, size_t i);
/* The digest of a complete walk's tables and ids, in order. */
const uint8_t *export_walk_digest(const struct export_walk *w);
/* Bytes the walk holds; rows it read, all steps together. */
size_t export_walk_bytes(const struct export_walk *w);
uint64_t export_walk_visited(const struct export_walk *w);

#endif
