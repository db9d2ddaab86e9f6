/*
 * schema_no.h: the wire numbers of tables and columns (PROTOCOL.md, "Schema numbers").
 * A change set names a row's table by its number and each cell's column by its number in
 * that table, never by name. A table's number is its place in the schema order, from 0;
 * a column's number is 0 for _deleted and 1 + its place among the table's other columns.
 * Versions only append tables and columns (schema.h), so a number never changes meaning
 * between versions, and a number this schema lacks belongs to a newer one.
 *
 * A decoded op carries the numbers (struct cs_op, changeset.h), which its readers use,
 * and names its table and column by string too: the schema's own name, or
 * for a number this schema lacks a reserved name, "#" and the number in decimal, which
 * no schema name can be (names are [a-z_][a-z0-9_]*). The store then treats it as it
 * treats any name it does not know (store_unknown.c), and a node that learns the number
 * by an upgrade reads the same bytes again with the names of its new schema.
 */
#ifndef SCHEMA_NO_H
#define SCHEMA_NO_H

#include <stdint.h>

#include "schema.h"

/* The largest table or column number a change set may carry. */
#define SCHEMA_NO_MAX 255
/*
 * The schema's own numbers stay below this (test_schema checks it): they take one byte
 * on the wire, so the size of a schema name's number is known without looking it up.
 */
#define SCHEMA_NO_ONE_BYTE 128

/* The table numbered no, or NULL when this schema lacks it. */
const struct schema_table *schema_no_table(uint64_t no);
/* The column of t numbered no, or NULL when t (or t's table in this schema) lacks it. */
const struct schema_column *schema_no_column(const struct schema_table *t, uint64_t no);
/* The number of a table of this schema. */
unsigned schema_no_of_table(const struct schema_table *t);
/* The number of column c of t. */
unsigned schema_no_of_column(const struct schema_table *t, const struct schema_column *c);

/* The name a decoded op carries for table number no (no <= SCHEMA_NO_MAX). */
const char *schema_no_table_name(uint64_t no);
/* The name for column number no of the table t (NULL: a table this schema lacks). */
const char *schema_no_column_name(const struct schema_table *t, uint64_t no);

/*
 * The number of the table named name: the schema's, or n for the reserved name "#n"; -1
 * for any other name. *t is the schema's table, or NULL for a reserved name.
 */
int schema_no_table_find(const char *name, const struct schema_table **t);
/*
 * The number of the column named name in t (NULL: a table this schema lacks, which has
 * only _deleted and reserved names), -1 when there is none. *hint is the index in
 * t->columns of the column found last in t, or -1; it is updated (ops name a row's columns
 * mostly in schema order, and mostly by the schema's own strings, which are found first).
 */
int schema_no_column_find(const struct schema_table *t, const char *name, int *hint);

/* Bytes of the number of the table or column named name, which must have one. */
static inline unsigned
schema_no_size(const char *name)
{
	unsigned n = 0;

	if (name[0] != '#')
		return 1;
	for (const char *p = name + 1; *p != '\0'; p++)
		n = n * 10 + (unsigned)(*p - '0');
	return n < SCHEMA_NO_ONE_BYTE ? 1 : 2;
}

#endif
