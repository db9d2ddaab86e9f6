/*
 * schema_no.c: the wire numbers of tables and columns (schema_no.h) over the static
 * schema of schema.c, and the reserved names of numbers this schema lacks. Owns no state;
 * must not know about change sets or the store.
 */
#include <stddef.h>
#include <string.h>

#include "schema_no.h"

/* "#0" .. "#255": the reserved names, static so that decoded ops can point at them. */
#define NO1(p) "#" #p
#define NO10(p)                                                                                    \
	NO1(p##0), NO1(p##1), NO1(p##2), NO1(p##3), NO1(p##4), NO1(p##5), NO1(p##6), NO1(p##7),    \
	    NO1(p##8), NO1(p##9)
static const char *const reserved[SCHEMA_NO_MAX + 1] = {
    NO10(),   NO10(1),  NO10(2),  NO10(3),  NO10(4),  NO10(5),  NO10(6),  NO10(7),
    NO10(8),  NO10(9),  NO10(10), NO10(11), NO10(12), NO10(13), NO10(14), NO10(15),
    NO10(16), NO10(17), NO10(18), NO10(19), NO10(20), NO10(21), NO10(22), NO10(23),
    NO10(24), NO1(250), NO1(251), NO1(252), NO1(253), NO1(254), NO1(255),
};

const struct schema_table *
schema_no_table(uint64_t no)
{
	return no < schema_table_count() ? schema_table_at((size_t)no) : NULL;
}

const struct schema_column *
schema_no_column(const struct schema_table *t, uint64_t no)
{
	if (t == NULL || no >= t->ncolumns)
		return NULL;
	/* _deleted is last in t->columns and number 0; the others follow it in order */
	return no == 0 ? &t->columns[t->ncolumns - 1] : &t->columns[no - 1];
}

unsigned
schema_no_of_table(const struct schema_table *t)
{
	return (unsigned)(t - schema_table_at(0));
}

unsigned
schema_no_of_column(const struct schema_table *t, const struct schema_column *c)
{
	size_t i = (size_t)(c - t->columns);

	return i + 1 == t->ncolumns ? 0 : (unsigned)(i + 1);
}

const char *
schema_no_table_name(uint64_t no)
{
	const struct schema_table *t = schema_no_table(no);

	return t != NULL ? t->name : no <= SCHEMA_NO_MAX ? reserved[no] : NULL;
}

const char *
schema_no_column_name(const struct schema_table *t, uint64_t no)
{
	const struct schema_column *c = schema_no_column(t, no);

	if (c != NULL)
		return c->name;
	if (no == 0)
		return SCHEMA_DELETED; /* every table has it, also one of a newer schema */
	return no <= SCHEMA_NO_MAX ? reserved[no] : NULL;
}

/* n for the reserved name "#n" (decimal, no leading zero, n <= SCHEMA_NO_MAX), else -1. */
static int
reserved_no(const char *name)
{
	int n = 0;
	size_t len;

	if (name[0] != '#' || (len = strlen(name)) < 2 || len > 4 || (name[1] == '0' && len > 2))
		return -1;
	for (size_t i = 1; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		n = n * 10 + (name[i] - '0');
	}
	return n <= SCHEMA_NO_MAX ? n : -1;
}

int
schema_no_table_find(const char *name, const struct schema_table **t)
{
	size_t n = schema_table_count();
	int no;

	*t = NULL;
	if (name == NULL)
		return -1;
	/* a local write names a table by the schema's own string */
	for (size_t i = 0; i < n; i++)
		if (schema_table_at(i)->name == name) {
			*t = schema_table_at(i);
			return (int)i;
		}
	if ((*t = schema_table_find(name)) != NULL)
		return (int)schema_no_of_table(*t);
	/* a reserved name stands only for a number this schema lacks: one name per number */
	no = reserved_no(name);
	return no >= 0 && schema_no_table((uint64_t)no) == NULL ? no : -1;
}

int
schema_no_column_find(const struct schema_table *t, const char *name, int *hint)
{
	const struct schema_column *c = NULL;
	int no;

	if (name == NULL)
		return -1;
	if (t != NULL) {
		size_t next = *hint >= 0 ? (size_t)*hint + 1 : 0;

		if (next < t->ncolumns && t->columns[next].name == name)
			c = &t->columns[next];
		for (size_t i = 0; c == NULL && i < t->ncolumns; i++)
			if (t->columns[i].name == name)
				c = &t->columns[i];
		if (c == NULL)
			c = schema_column_findn(t, name, strlen(name), *hint);
		if (c != NULL) {
			*hint = (int)(c - t->columns);
			return (int)schema_no_of_column(t, c);
		}
	} else if (strcmp(name, SCHEMA_DELETED) == 0)
		return 0;
	/* a reserved name of a number t has is not that column's name */
	no = reserved_no(name);
	return no >= 0 && schema_no_column(t, (uint64_t)no) == NULL && no != 0 ? no : -1;
}
