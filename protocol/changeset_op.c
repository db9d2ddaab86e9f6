/*
 * changeset_op.c: the schema numbers an op carries besides its names (changeset.h,
 * struct cs_op; schema_no.h): setting them from the names and checking that they are
 * the names' numbers. Readers of ops use the numbers; these are for the producers that
 * start from names and for the checks that no op reaches a reader with numbers unset.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "changeset.h"
#include "schema_no.h"

_Static_assert(SCHEMA_NO_MAX <= UINT8_MAX, "an op's numbers are one byte each");

bool
changeset_op_nos_ok(const struct cs_op *op)
{
	const char *tname = schema_no_table_name(op->tno);
	const char *cname = schema_no_column_name(schema_no_table(op->tno), op->cno);

	/* a decoded or built op names them by those very strings: compared only otherwise */
	return op->table != NULL && op->column != NULL && tname != NULL && cname != NULL &&
	       (tname == op->table || strcmp(tname, op->table) == 0) &&
	       (cname == op->column || strcmp(cname, op->column) == 0);
}

bool
changeset_op_nos_set(struct cs_op *op)
{
	const struct schema_table *t;
	int hint = -1, tno, cno;

	if ((tno = schema_no_table_find(op->table, &t)) < 0 ||
	    (cno = schema_no_column_find(t, op->column, &hint)) < 0)
		return false;
	op->tno = (uint8_t)tno;
	op->cno = (uint8_t)cno;
	return true;
}
