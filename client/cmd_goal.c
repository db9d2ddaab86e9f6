/*
 * cmd_goal.c: `arrangctl goal add`, the generic `add` with the defaults of a plan: a
 * new goal is open unless a status is given, and takes the place after the last goal
 * of its arrangement unless an ordinal is given. set, list, show, delete and history
 * are the generic verbs (cmd_table.c); the store keeps the plan's rules. Its help is in
 * commands.c. It must not print the plan (plan.c does, for `arrangement show`).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"

/* The field of column name among fields (n of them), or NULL. */
static const struct field *
field_of(const struct field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].col->name, name) == 0)
			return &fields[i];
	return NULL;
}

/* One more than the highest ordinal among the goals of arrangement arr, into *next. */
static int
next_ordinal(struct cli *cli, const struct value *arr, int64_t *next)
{
	struct cli_where w = {"arrangement_id", *arr};
	struct reply rp;
	struct rowset rs;
	int rc, oc;

	*next = 1;
	reply_init(&rp);
	if ((rc = cli_list(cli, "goal", &w, 1, 0, &rp, &rs)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	oc = rowset_col(&rs, "ordinal");
	for (size_t r = 0; r < rs.nrows; r++) {
		const msgpack_object *o = rowset_cell(&rs, r, oc);

		if (o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    o->via.u64 < (uint64_t)INT64_MAX && (int64_t)o->via.u64 >= *next)
			*next = (int64_t)o->via.u64 + 1;
	}
	rc = CLI_OK;
out:
	reply_free(&rp);
	return rc;
}

int
cmd_goal_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	const struct schema_table *t = call->t;
	struct opt opts[] = {{NULL, false, NULL}};
	const struct field *arr;
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	struct args a;
	size_t n;
	int64_t ordinal;
	int rc = commands_args(cli, call, argc, argv, opts, t, &a);

	if (rc != CLI_OK || a.help)
		goto out;
	if ((fields = calloc(a.npos + 2, sizeof(*fields))) == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	if ((rc = tbl_fields(cli, t, a.pos, a.npos, fields)) != CLI_OK)
		goto out;
	n = a.npos;
	arr = field_of(fields, n, "arrangement_id");
	if (arr == NULL || arr->value.kind == VALUE_NIL) {
		rc = cli_usage(cli, "missing arrangement_id=ID (the arrangement of the plan)");
		goto out;
	}
	if (field_of(fields, n, "status") == NULL) {
		fields[n].col = schema_column_find(t, "status");
		fields[n++].value = value_text("open");
	}
	if (field_of(fields, n, "ordinal") == NULL) {
		if ((rc = next_ordinal(cli, &arr->value, &ordinal)) != CLI_OK)
			goto out;
		fields[n].col = schema_column_find(t, "ordinal");
		fields[n++].value = value_int(ordinal);
	}
	cli_new_id(id);
	rc = tbl_write(cli, t, id, fields, n, NULL, 0);
	if (rc == CLI_OK)
		rc = tbl_print_id(cli, id);
out:
	free(fields);
	args_free(&a);
	return rc;
}
