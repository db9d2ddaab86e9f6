/*
 * plan.c: the plan of one arrangement for `arrangement show`: the goal_evaluation rows
 * of its evaluations (one `list` per evaluation), the latest outcome per goal, and the
 * goals printed in the plan's order. It reads what the caller fetched and must not
 * write; it never prints --json itself (the caller gathers the JSON document).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "jsonout.h"
#include "out.h"
#include "plan.h"
#include "rowid.h"
#include "strbuf.h"

int
plan_evals_load(struct cli *cli, const struct rowset *evals, struct plan_evals *pe)
{
	int idc = rowset_col(evals, "id"), rc;

	memset(pe, 0, sizeof(*pe));
	if (evals->nrows == 0)
		return CLI_OK;
	pe->rp = calloc(evals->nrows, sizeof(*pe->rp));
	pe->rs = calloc(evals->nrows, sizeof(*pe->rs));
	if (pe->rp == NULL || pe->rs == NULL)
		return cli_error("out of memory");
	for (size_t e = 0; e < evals->nrows; e++) {
		char id[ARR_ROWID_STRLEN + 1];
		struct cli_where w = {"evaluation_id", value_nil()};

		reply_init(&pe->rp[e]);
		pe->n++;
		if (!obj_strcpy(rowset_cell(evals, e, idc), id, sizeof(id)))
			return cli_fail(cli, ARR_EMALFORMED, NULL);
		w.value = value_text(id);
		rc = cli_list(cli, "goal_evaluation", &w, 1, 0, &pe->rp[e], &pe->rs[e]);
		if (rc != 0)
			return cli_fail(cli, rc, &pe->rp[e]);
	}
	return CLI_OK;
}

void
plan_evals_free(struct plan_evals *pe)
{
	for (size_t e = 0; e < pe->n; e++)
		reply_free(&pe->rp[e]);
	free(pe->rp);
	free(pe->rs);
	memset(pe, 0, sizeof(*pe));
}

json_t *
plan_evals_json(const struct plan_evals *pe)
{
	json_t *a = json_array();

	for (size_t e = 0; a != NULL && e < pe->n; e++)
		for (size_t r = 0; r < pe->rs[e].nrows; r++)
			if (json_array_append_new(a, jsonout_row(&pe->rs[e], r, NULL, false)) !=
			    0) {
				json_decref(a);
				return NULL;
			}
	return a;
}

/* What a goal shows: its row, its place, and the latest outcome found for it. */
struct goal_line {
	size_t row;
	int64_t ordinal;
	char held[16];    /* the date of the evaluation that recorded outcome, or "" */
	char outcome[32]; /* the latest outcome, or "" */
};

static int
line_cmp(const void *a, const void *b)
{
	const struct goal_line *x = a, *y = b;

	if (x->ordinal != y->ordinal)
		return x->ordinal < y->ordinal ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Is the str o equal to the C string s? */
static bool
str_eq(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
	       memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* The latest outcome of the goal with id among the evaluations, into l. */
static void
latest_outcome(const char *id, const struct rowset *evals, const struct plan_evals *pe,
               struct goal_line *l)
{
	int hc = rowset_col(evals, "held_on");

	for (size_t e = 0; e < pe->n; e++) {
		const struct rowset *rs = &pe->rs[e];
		int gc = rowset_col(rs, "goal_id"), oc = rowset_col(rs, "outcome");
		char held[16];

		if (!obj_strcpy(rowset_cell(evals, e, hc), held, sizeof(held)))
			held[0] = '\0';
		for (size_t r = 0; r < rs->nrows; r++) {
			if (!str_eq(rowset_cell(rs, r, gc), id) ||
			    (l->outcome[0] != '\0' && strcmp(held, l->held) < 0))
				continue;
			if (obj_strcpy(rowset_cell(rs, r, oc), l->outcome, sizeof(l->outcome)))
				memcpy(l->held, held, sizeof(held));
		}
	}
}

/* Cell c of goal row r through names (o NULL: "-"), marked when it breaks a rule of fl. */
static void
goal_cell(struct table *tab, struct strbuf *sb, const struct names *nm, const struct rowset *goals,
          size_t r, const char *col, const struct flags *fl)
{
	const msgpack_object *o = rowset_cell(goals, r, rowset_col(goals, col));

	strbuf_reset(sb);
	if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
		strbuf_putc(sb, '-');
	else
		names_render(nm, sb, schema_table_find("goal"), col, o, true);
	if (fl != NULL && flags_has(&fl[r], col))
		strbuf_puts(sb, FLAGS_MARK);
	table_cell(tab, strbuf_str(sb));
}

/* The table of the plan from its lines, in order. An exit code. */
static int
print_lines(const struct rowset *goals, const struct goal_line *lines, const struct names *nm,
            const struct flags *fl)
{
	static const char *const heads[] = {"#",      "GOAL",   "ORGANISATION",
	                                    "TARGET", "STATUS", "LATEST OUTCOME"};
	struct table *tab = table_new(6);
	struct strbuf sb = STRBUF_INIT;
	int rc = CLI_OK;

	if (tab == NULL)
		return cli_error("out of memory");
	for (size_t i = 0; i < 6; i++)
		table_cell(tab, heads[i]);
	for (size_t i = 0; i < goals->nrows; i++) {
		size_t r = lines[i].row;

		goal_cell(tab, &sb, nm, goals, r, "ordinal", fl);
		goal_cell(tab, &sb, nm, goals, r, "description", fl);
		goal_cell(tab, &sb, nm, goals, r, "org_id", fl);
		goal_cell(tab, &sb, nm, goals, r, "target_on", fl);
		goal_cell(tab, &sb, nm, goals, r, "status", fl);
		strbuf_reset(&sb);
		if (lines[i].outcome[0] == '\0')
			strbuf_putc(&sb, '-');
		else
			strbuf_printf(&sb, "%s (%s)", lines[i].outcome, lines[i].held);
		table_cell(tab, strbuf_str(&sb));
	}
	if (!strbuf_ok(&sb) || !table_print(tab, stdout))
		rc = cli_error("out of memory");
	for (size_t r = 0; rc == CLI_OK && fl != NULL && r < goals->nrows; r++)
		flags_print(&fl[r], NULL);
	table_destroy(&tab);
	strbuf_free(&sb);
	return rc;
}

int
plan_print(const struct rowset *goals, const struct rowset *evals, const struct plan_evals *pe,
           const struct names *nm, const struct flags *fl)
{
	struct goal_line *lines;
	int idc = rowset_col(goals, "id"), oc = rowset_col(goals, "ordinal"), rc;

	printf("\nPlan\n");
	if (goals->nrows == 0) {
		puts("(none)");
		return CLI_OK;
	}
	if ((lines = calloc(goals->nrows, sizeof(*lines))) == NULL)
		return cli_error("out of memory");
	for (size_t r = 0; r < goals->nrows; r++) {
		const msgpack_object *o = rowset_cell(goals, r, oc);
		char id[ARR_ROWID_STRLEN + 1];

		lines[r].row = r;
		lines[r].ordinal = INT64_MAX; /* goals without a place come last */
		if (o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    o->via.u64 <= (uint64_t)INT64_MAX)
			lines[r].ordinal = (int64_t)o->via.u64;
		else if (o != NULL && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			lines[r].ordinal = o->via.i64;
		if (obj_strcpy(rowset_cell(goals, r, idc), id, sizeof(id)))
			latest_outcome(id, evals, pe, &lines[r]);
	}
	qsort(lines, goals->nrows, sizeof(*lines), line_cmp);
	rc = print_lines(goals, lines, nm, fl);
	free(lines);
	return rc;
}
