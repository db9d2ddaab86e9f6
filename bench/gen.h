/*
 * gen.h: the benchmarks' fixture generator. From a seed and a number of arrangements it
 * produces, always in the same order and with the same contents, rows of the DOMAIN.md
 * shapes: a pool of organisations, children, arrangements with every column, their
 * parties and funding shares. Every benchmark (and its raw-SQLite baseline) writes
 * exactly these rows, so figures from different paths compare like with like.
 *
 * Per arrangement the generator emits (counts are exact, see gen_count):
 *   - 1 arrangement row, all 15 columns (end_on and end_reason are nil unless ended),
 *   - 2 arrangement_party rows (requester and care, 5 columns each),
 *   - 1 funding_share row (6 columns),
 *   - every second arrangement 1 child row (3 columns): each child has two arrangements;
 * and once, before the first arrangement, GEN_ORGS organisation rows (3 columns).
 *
 * Bench code only: no I/O, no allocation beyond the caller's row buffer.
 */
#ifndef GEN_H
#define GEN_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "value.h"

#define GEN_ORGS     64  /* organisations: 16 of each kind */
#define GEN_MAX_COLS 16  /* widest table's replicated columns, without _deleted */
#define GEN_TEXT_MAX 512 /* bytes of text storage per row */

/* One row: values in schema column order, _deleted excluded; text borrows row->text. */
struct gen_row {
	const struct schema_table *t;
	size_t table; /* index of t in schema.h */
	char id[37];  /* UUID text */
	size_t ncols; /* t->ncolumns - 1 */
	struct value vals[GEN_MAX_COLS];
	char text[GEN_TEXT_MAX];
	size_t textlen;
};

/* The fixture stream; plain data, copy it to restart from a point. */
struct gen {
	uint64_t seed;
	uint64_t rng;
	size_t narr; /* arrangements to emit */
	size_t org;  /* next organisation to emit (< GEN_ORGS) */
	size_t arr;  /* next arrangement */
	int part;    /* next part of the current arrangement (child, arr, 2 parties, funding) */
	char child_id[37];
	char arr_id[37];
	char org_ids[GEN_ORGS][37];
};

/* Start the stream of narr arrangements from seed. */
void gen_init(struct gen *g, uint64_t seed, size_t narr);
/* Next row into *row; 0 when the stream is done, 1 otherwise. */
int gen_next(struct gen *g, struct gen_row *row);
/* Exact rows and column values (ops) of a stream of narr arrangements. */
void gen_count(size_t narr, uint64_t *rows, uint64_t *values);

#endif
