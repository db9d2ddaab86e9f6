/*
 * schema.h: the replicated data model of DOMAIN.md (schema version ARR_SCHEMA_VERSION),
 * as data. The replica creates its tables from it; the store keeps ops for tables,
 * columns or enum values not in it when their change set comes from a newer schema
 * (store_unknown.c) and refuses them otherwise; the API and the CLI validate local
 * writes against the column types. Every table also has "id" (row id, primary key) and
 * the hidden "_deleted" column.
 *
 * Evolution is additive (PROTOCOL.md, "Schema evolution"): a version may add tables (at
 * the end of the list), columns (at the end of a table, before _deleted) and enum values,
 * and never renames, retypes or removes. Each table and column says in which version it
 * appeared (since) and in which its definition last grew (changed: an enum that gained
 * values), so a node can tell what an older version knew. Appending is also what keeps
 * the numbers change sets name tables and columns by (schema_no.h) the same in every
 * version: never insert, reorder or remove (test_schema_no checks it).
 */
#ifndef SCHEMA_H
#define SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "value.h"

#define SCHEMA_DELETED "_deleted"

enum schema_type {
	SCHEMA_TEXT, /* free text */
	SCHEMA_INT,  /* integer (years, cents, volumes) */
	SCHEMA_DATE, /* ISO YYYY-MM-DD text */
	SCHEMA_ENUM, /* one of a fixed list of text values */
	SCHEMA_REF,  /* row id (UUID text) of a row in another table */
	SCHEMA_FLAG, /* integer 0/1: the hidden _deleted column */
};

struct schema_column {
	const char *name;
	enum schema_type type;
	const char *const *choices; /* SCHEMA_ENUM: NULL-terminated list */
	const char *ref_table;      /* SCHEMA_REF: the referenced table */
	unsigned since;             /* the schema version that added it */
	unsigned changed;           /* the last version that added enum values (>= since) */
};

struct schema_table {
	const char *name;
	const struct schema_column *columns; /* replicated columns, _deleted last */
	size_t ncolumns;
	unsigned since; /* the schema version that added it */
};

size_t schema_table_count(void);
const struct schema_table *schema_table_at(size_t i);
const struct schema_table *schema_table_find(const char *name);
/* The same for the n bytes at name, which need not end in a NUL. */
const struct schema_table *schema_table_findn(const char *name, size_t n);
/* Column of t named name (including "_deleted"), or NULL. "id" is not a column. */
const struct schema_column *schema_column_find(const struct schema_table *t, const char *name);
/*
 * The same for the n bytes at name (no NUL needed). hint is the index in t->columns of
 * the column the caller found last in t, or -1: the one after it is tried first, since
 * ops name a row's columns in schema order. The result does not depend on hint.
 */
const struct schema_column *schema_column_findn(const struct schema_table *t, const char *name,
                                                size_t n, int hint);
/* Index of the column in t->columns, or -1. */
int schema_column_index(const struct schema_table *t, const char *name);

/* Columns of t that schema version v knows (_deleted included), 0 if v lacks t. */
size_t schema_table_columns_at(const struct schema_table *t, unsigned v);

/* Whether v fits the column's type (nil always fits). Text values must be valid UTF-8. */
bool schema_value_ok(const struct schema_column *c, const struct value *v);
/*
 * schema_value_ok() for a value whose text is already known to be valid UTF-8 without
 * NUL (from apimsg_value() or changeset_decode()): the text is not checked again.
 */
bool schema_value_fits(const struct schema_column *c, const struct value *v);

/* Status lifecycle of DOMAIN.md: may an arrangement go from "from" to "to"? */
bool schema_status_transition_ok(const char *from, const char *to);

#endif
